package jsonl

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Error is one thing wrong with a bulk file: its line (0 for the file as a whole), the
// field ("user.teams[1].roles"; "" for the line as a whole) and what is wrong.
type Error struct {
	Line    int
	Field   string
	Message string
}

func (e Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Reader reads the lines of a .jsonl stream one at a time; memory is bounded by
// MaxLineBytes whatever the stream's size.
type Reader struct {
	br       *bufio.Reader
	n        int   // lines read
	read     int64 // bytes read
	maxBytes int64
	err      error // a fatal error, returned from then on
}

// NewReader reads lines from r, at most MaxInputBytes of it.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), maxBytes: MaxInputBytes}
}

// Next returns the next line. A line that cannot be read as a bulk line (too long, not
// one JSON object, a field of the wrong JSON type, an unknown type) is returned with an
// Error (as error, of type Error) and reading may go on with the next line. At the end
// it returns io.EOF; a stream longer than MaxInputBytes, or one that fails to read,
// ends with another error that is not an Error, returned from then on.
func (r *Reader) Next() (Line, error) {
	if r.err != nil {
		return Line{}, r.err
	}
	raw, tooLong, err := r.readLine()
	if err != nil {
		r.err = err
		return Line{}, err
	}
	r.n++
	if tooLong {
		return Line{Number: r.n}, Error{Line: r.n, Message: fmt.Sprintf("is longer than %d bytes", MaxLineBytes)}
	}
	l, lerr := parseLine(raw)
	l.Number = r.n
	if lerr != nil {
		lerr.Line = r.n
		return l, *lerr
	}
	return l, nil
}

// readLine reads up to the next '\n' (dropped, as is a '\r' before it). A line longer
// than MaxLineBytes is read to its end and dropped (tooLong), so one bad line costs no
// more memory than a good one. At the end of the stream it returns io.EOF.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.read += int64(len(chunk))
		if r.read > r.maxBytes {
			return nil, false, fmt.Errorf("the input is larger than %d bytes", r.maxBytes)
		}
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			return trimEOL(buf, &tooLong), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return trimEOL(buf, &tooLong), tooLong, nil
		default:
			return nil, false, fmt.Errorf("read: %w", err)
		}
	}
}

// trimEOL drops the line's "\n" or "\r\n" and says whether what is left is too long.
func trimEOL(b []byte, tooLong *bool) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > MaxLineBytes {
		*tooLong = true
		return nil
	}
	return b
}

// parseLine decodes one line as encoding/json does for Mattermost's importer (object
// keys matched without regard to case, unknown keys ignored), and checks its shape: one
// JSON object, a known type, and the object of that type present.
func parseLine(raw []byte) (Line, *Error) {
	var l Line
	if len(bytes.TrimSpace(raw)) == 0 {
		return l, &Error{Message: "is empty: every line is one JSON object"}
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				return Line{}, &Error{Message: fmt.Sprintf("is a JSON %s, not an object", te.Value)}
			}
			return Line{}, &Error{Field: field, Message: fmt.Sprintf("must be %s, not a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)}
		}
		return Line{}, &Error{Message: "is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if l.Type == "" {
		return l, &Error{Field: "type", Message: "is required"}
	}
	if _, ok := lineRank[l.Type]; !ok {
		return l, &Error{Field: "type", Message: fmt.Sprintf("%q is not a line type of Mattermost's bulk format", l.Type)}
	}
	present := map[string]bool{
		TypeVersion: l.Version != nil, TypeTeam: l.Team != nil, TypeChannel: l.Channel != nil, TypeUser: l.User != nil,
		TypeScheme: isObject(l.Scheme), TypeRole: isObject(l.Role), TypeEmoji: isObject(l.Emoji), TypeBot: isObject(l.Bot),
		TypePost: isObject(l.Post), TypeDirectChannel: isObject(l.DirectChannel), TypeDirectPost: isObject(l.DirectPost),
	}
	if !present[l.Type] {
		if l.Type == TypeVersion {
			return l, &Error{Field: "version", Message: "is required"}
		}
		return l, &Error{Field: l.Type, Message: fmt.Sprintf("is required: a %s line holds a %q object", l.Type, l.Type)}
	}
	return l, nil
}

// isObject reports whether raw is a JSON object (json.RawMessage keeps "null" as is).
func isObject(raw json.RawMessage) bool {
	return len(raw) > 0 && raw[0] == '{'
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k string) string {
	switch {
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint"):
		return "an integer"
	case k == "slice":
		return "an array"
	case k == "struct" || k == "map":
		return "an object"
	}
	return "a " + k
}

// Source opens the bulk file for one pass over it; every call starts at its first line.
// Import reads the file twice (validate, then apply), so it takes a Source rather than a
// stream.
type Source func() (io.ReadCloser, error)

// FileSource is the file at path: a .jsonl, or a .zip (by its name or its first bytes)
// holding exactly one .jsonl, whose other entries (attachments under data/) are
// skipped. A zip is refused when any entry's name could escape a directory it were
// unpacked into (absolute, "..", a backslash, a drive letter), is a link, or when it
// holds no .jsonl or more than one; it is never unpacked.
func FileSource(p string) Source {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		var magic [4]byte
		n, _ := io.ReadFull(f, magic[:])
		if strings.HasSuffix(strings.ToLower(p), ".zip") || (n == 4 && string(magic[:]) == "PK\x03\x04") {
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, err
			}
			rc, err := openZip(f, st.Size())
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			return rc, nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
}

// ZipInfo is what openZip found besides the .jsonl: the other files, which Townsquare
// does not keep.
type zipEntry struct {
	io.Reader
	closers []io.Closer
}

func (z *zipEntry) Close() error {
	var first error
	for _, c := range z.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ErrZip is a .zip that is not a bulk file Townsquare reads (see FileSource).
var ErrZip = errors.New("not a bulk import zip")

// openZip opens the one .jsonl of the zip in ra; closing the result closes f too.
func openZip(f *os.File, size int64) (io.ReadCloser, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrZip, err)
	}
	if len(zr.File) > MaxZipEntries {
		return nil, fmt.Errorf("%w: more than %d entries", ErrZip, MaxZipEntries)
	}
	var data *zip.File
	for _, zf := range zr.File {
		if reason := unsafeZipName(zf); reason != "" {
			return nil, fmt.Errorf("%w: entry %q %s", ErrZip, zf.Name, reason)
		}
		if strings.HasSuffix(strings.ToLower(zf.Name), ".jsonl") && !zf.FileInfo().IsDir() {
			if data != nil {
				return nil, fmt.Errorf("%w: it holds more than one .jsonl (%s, %s)", ErrZip, data.Name, zf.Name)
			}
			data = zf
		}
	}
	if data == nil {
		return nil, fmt.Errorf("%w: it holds no .jsonl file", ErrZip)
	}
	if data.UncompressedSize64 > MaxInputBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrZip, data.Name, int64(MaxInputBytes))
	}
	rc, err := data.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrZip, data.Name, err)
	}
	// The declared size may lie; Reader counts what it reads against MaxInputBytes.
	return &zipEntry{Reader: rc, closers: []io.Closer{rc, f}}, nil
}

// unsafeZipName says why an entry's name is refused, or "".
func unsafeZipName(zf *zip.File) string {
	n := zf.Name
	switch {
	case n == "":
		return "has no name"
	case strings.ContainsRune(n, '\\'):
		return `holds a backslash`
	case strings.HasPrefix(n, "/"):
		return "is an absolute path"
	case len(n) >= 2 && n[1] == ':':
		return "names a drive"
	case strings.ContainsRune(n, 0):
		return "holds a NUL"
	case zf.Mode()&fs.ModeSymlink != 0:
		return "is a symbolic link"
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return `climbs out with ".."`
		}
	}
	if c := path.Clean(n); c == ".." || strings.HasPrefix(c, "../") {
		return `climbs out with ".."`
	}
	return ""
}

// ZipAttachments counts the entries of the zip at p other than its .jsonl and its
// directories (attachments, which Townsquare does not keep); 0 for a .jsonl.
func ZipAttachments(p string) (int, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) {
			return 0, nil
		}
		return 0, err
	}
	defer zr.Close()
	n := 0
	for _, zf := range zr.File {
		if !zf.FileInfo().IsDir() && !strings.HasSuffix(strings.ToLower(zf.Name), ".jsonl") {
			n++
		}
	}
	return n, nil
}
