package jsonl

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Generator is the version line's info.generator in what Export writes.
const Generator = "townsquare"

// ZipEntryName is the name of the .jsonl inside an exported zip, as Mattermost's own
// export names it and `mmctl import process` looks for it.
const ZipEntryName = "data.jsonl"

// zipTime is the modification time of ZipEntryName: fixed (the DOS epoch), so that the
// same state exports the same bytes.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// ExportOptions are how Export writes.
type ExportOptions struct {
	Query store.ExportQuery
	// AuthService and AuthData say how users sign in to the Mattermost that loads the
	// file: auth_service is AuthService (one of rules.AuthServices) and auth_data the
	// account's value AuthData names (one of rules.AuthDataSources). A user whose
	// value is empty gets neither, and so does every user when AuthService is "" or
	// "email" (password users, whom Mattermost gives a generated password). The CLI
	// takes them from the mapping file's mattermost: block, else saml and externalId.
	AuthService string
	AuthData    string
	// Version is info.version of the version line (the build's); Mattermost's exporter
	// also writes the time as info.created, which Export leaves out so that the same
	// state always exports the same bytes.
	Version string
	// Zip writes a zip holding ZipEntryName rather than the bare .jsonl.
	Zip bool
}

// ExportReport counts what Export wrote.
type ExportReport struct{ Teams, Channels, Users int }

// Export writes the version line, then every team, channel and user that b exports for
// opts.Query (one snapshot, in a stable order), as lines Mattermost's importer takes:
// the same state always gives the same bytes. It streams: nothing but the line being
// written is held. Attributes longer than Mattermost keeps (first_name, last_name,
// nickname 64 characters, position 128) are cut as the connector cuts them, and a
// locale longer than Mattermost's 5 bytes is left out.
func Export(ctx context.Context, b store.Bulk, w io.Writer, opts ExportOptions) (ExportReport, error) {
	if opts.AuthService != "" && !contains(rules.AuthServices, opts.AuthService) {
		return ExportReport{}, fmt.Errorf("auth service %q: use one of %v", opts.AuthService, rules.AuthServices)
	}
	if opts.AuthService != "" && opts.AuthService != "email" && !contains(rules.AuthDataSources, opts.AuthData) {
		return ExportReport{}, fmt.Errorf("auth data %q: use one of %v", opts.AuthData, rules.AuthDataSources)
	}
	var zw *zip.Writer
	out := w
	if opts.Zip {
		zw = zip.NewWriter(w)
		f, err := zw.CreateHeader(&zip.FileHeader{Name: ZipEntryName, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return ExportReport{}, err
		}
		out = f
	}
	s := &sink{w: bufio.NewWriterSize(out, 64<<10), opts: opts}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	info := struct {
		Generator string `json:"generator"`
		Version   string `json:"version,omitempty"`
	}{Generator, opts.Version}
	v := int64(1)
	if err := s.line(struct {
		Type    string `json:"type"`
		Version *int64 `json:"version"`
		Info    any    `json:"info"`
	}{TypeVersion, &v, info}); err != nil {
		return s.rep, err
	}
	if err := b.ExportChat(ctx, opts.Query, s); err != nil {
		return s.rep, err
	}
	if err := s.w.Flush(); err != nil {
		return s.rep, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return s.rep, err
		}
	}
	return s.rep, nil
}

// sink writes each exported item as a line.
type sink struct {
	w    *bufio.Writer
	buf  bytes.Buffer
	enc  *json.Encoder
	opts ExportOptions
	rep  ExportReport
}

func (s *sink) line(v any) error {
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil { // Encode ends the line with '\n'
		return err
	}
	_, err := s.w.Write(s.buf.Bytes())
	return err
}

type exportTeamLine struct {
	Type string       `json:"type"`
	Team exportedTeam `json:"team"`
}

type exportedTeam struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`
}

func (s *sink) Team(t store.ExportTeam) error {
	s.rep.Teams++
	return s.line(exportTeamLine{TypeTeam, exportedTeam{t.Name, t.DisplayName, t.Type}})
}

type exportChannelLine struct {
	Type    string          `json:"type"`
	Channel exportedChannel `json:"channel"`
}

type exportedChannel struct {
	Team        string `json:"team"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`
}

func (s *sink) Channel(c store.ExportChannel) error {
	s.rep.Channels++
	return s.line(exportChannelLine{TypeChannel, exportedChannel{c.Team, c.Name, c.DisplayName, c.Type}})
}

type exportUserLine struct {
	Type string       `json:"type"`
	User exportedUser `json:"user"`
}

type exportedUser struct {
	Username    string               `json:"username"`
	Email       string               `json:"email"`
	AuthService string               `json:"auth_service,omitempty"`
	AuthData    string               `json:"auth_data,omitempty"`
	Nickname    string               `json:"nickname,omitempty"`
	FirstName   string               `json:"first_name,omitempty"`
	LastName    string               `json:"last_name,omitempty"`
	Position    string               `json:"position,omitempty"`
	Roles       string               `json:"roles,omitempty"`
	Locale      string               `json:"locale,omitempty"`
	DeleteAt    int64                `json:"delete_at,omitempty"`
	Teams       []exportedMembership `json:"teams,omitempty"`
}

type exportedMembership struct {
	Name     string             `json:"name"`
	Roles    string             `json:"roles,omitempty"`
	Channels []exportedChannelM `json:"channels,omitempty"`
}

type exportedChannelM struct {
	Name  string `json:"name"`
	Roles string `json:"roles,omitempty"`
}

// mattermostLocaleMaxLength is model.UserLocaleMaxLength.
const mattermostLocaleMaxLength = 5

func (s *sink) User(u store.ExportUser) error {
	s.rep.Users++
	eu := exportedUser{
		Username: u.Username, Email: u.Email,
		Nickname:  cutRunes(u.Nickname, userNicknameMaxRunes),
		FirstName: cutRunes(u.FirstName, userFirstNameMaxRunes),
		LastName:  cutRunes(u.LastName, userLastNameMaxRunes),
		Position:  cutRunes(u.Position, userPositionMaxRunes),
		Roles:     u.Roles, DeleteAt: u.DeleteAt,
	}
	if len(u.Locale) <= mattermostLocaleMaxLength {
		eu.Locale = u.Locale
	}
	if svc := s.opts.AuthService; svc != "" && svc != "email" {
		var data string
		switch s.opts.AuthData {
		case rules.AuthDataExternalID:
			data = u.ExternalID
		case rules.AuthDataUserName:
			data = u.UserName
		case rules.AuthDataEmail:
			data = u.Email
		}
		if data != "" {
			eu.AuthService, eu.AuthData = svc, data
		}
	}
	for _, t := range u.Teams {
		m := exportedMembership{Name: t.Name, Roles: t.Roles}
		for _, c := range t.Channels {
			m.Channels = append(m.Channels, exportedChannelM{c.Name, c.Roles})
		}
		eu.Teams = append(eu.Teams, m)
	}
	return s.line(exportUserLine{TypeUser, eu})
}

// cutRunes keeps the first max characters of s.
func cutRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}
