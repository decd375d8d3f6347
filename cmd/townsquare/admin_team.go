package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
)

// "townsquare team …" and "townsquare channel …": teams, channels and memberships.

var teamListCmd = adminCommand{
	synopsis: "[--json]",
	help:     `Lists every team, by name, with its type (open or invite only) and its member and channel counts.`,
	run: func(c *adminCall) error {
		asJSON := jsonFlag(c.fs)
		if err := c.parse(0, 0); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		teams, err := c.st.ListTeams(c.ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, server.NewTeamListJSON(teams))
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tTYPE\tMEMBERS\tCHANNELS")
		for _, t := range teams {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", t.Name, t.DisplayName, teamType(t.Type), t.MemberCount, t.ChannelCount)
		}
		return tw.Flush()
	},
}

func teamType(t string) string {
	if t == store.TeamInviteOnly {
		return "invite only"
	}
	return "open"
}

func channelType(t string) string {
	if t == store.ChannelPrivate {
		return "private"
	}
	return "public"
}

var teamCreateCmd = adminCommand{
	synopsis: "NAME [--display-name D] [--private]",
	help: `Makes a team with its town-square and off-topic channels and the mapping file's
team-join channels. It is open unless --private (invite only).`,
	run: func(c *adminCall) error {
		var t store.NewTeam
		c.fs.StringVar(&t.DisplayName, "display-name", "", "the display name (default NAME)")
		c.fs.BoolVar(&t.Private, "private", false, "invite only")
		if err := c.parse(1, 1); err != nil {
			return err
		}
		t.Name = c.args[0]
		if err := c.open(); err != nil {
			return err
		}
		s, err := c.st.CreateTeam(c.ctx, t)
		if err != nil {
			return fmt.Errorf("team %s: %w", t.Name, forPeople(err))
		}
		fmt.Fprintf(c.stdout, "created team %s (%s, %s) with %d channels\n", s.Name, s.DisplayName, teamType(s.Type), s.ChannelCount)
		return nil
	},
}

// teamUsersCmd is "team users add|remove TEAM USER…".
func teamUsersCmd(add bool) adminCommand {
	if add {
		return adminCommand{
			synopsis: "TEAM USER…",
			help: `Adds each account to the team by hand (source manual), and to its team-join channels.
No SCIM group change removes a membership added by hand.`,
			run: func(c *adminCall) error {
				if err := c.parse(2, 1+maxAdminArgs); err != nil {
					return err
				}
				if err := c.open(); err != nil {
					return err
				}
				team := c.args[0]
				return c.eachUser(c.args[1:], func(key, id string) (string, error) {
					ch, err := c.st.AddTeamMember(c.ctx, team, id)
					return ch.String(), err
				})
			},
		}
	}
	return adminCommand{
		synopsis: "TEAM USER… [--to-default]",
		help: `Removes what hand or an import added of each account's membership of the team (and of
its channels). What a group or the default team grants stays, and the answer says which
does. An account's last team is not removed (every active account is in a team), unless
--to-default, which moves it to the default team instead.`,
		run: func(c *adminCall) error {
			toDefault := c.fs.Bool("to-default", false, "when it is an account's last team, move the account to the default team")
			if err := c.parse(2, 1+maxAdminArgs); err != nil {
				return err
			}
			if err := c.open(); err != nil {
				return err
			}
			team := c.args[0]
			return c.eachUser(c.args[1:], func(key, id string) (string, error) {
				ch, err := c.st.RemoveTeamMember(c.ctx, team, id, *toDefault)
				return ch.String(), err
			})
		},
	}
}

var channelListCmd = adminCommand{
	synopsis: "TEAM [--json]",
	help:     `Lists a team's channels, by name, with their type (public or private) and member counts.`,
	run: func(c *adminCall) error {
		asJSON := jsonFlag(c.fs)
		if err := c.parse(1, 1); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		team := c.args[0]
		chans, err := c.st.TeamChannels(c.ctx, team)
		if err != nil {
			return fmt.Errorf("team %s: %w", team, err)
		}
		if *asJSON {
			return writeJSON(c.stdout, server.NewChannelListJSON(team, chans))
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tTYPE\tMEMBERS")
		for _, ch := range chans {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", ch.Name, ch.DisplayName, channelType(ch.Type), ch.MemberCount)
		}
		return tw.Flush()
	},
}

var channelCreateCmd = adminCommand{
	synopsis: "TEAM:CHANNEL [--display-name D] [--private]",
	help: `Makes a channel in a team (TEAM:CHANNEL, or TEAM/CHANNEL). It is public unless
--private; a team-join channel of the mapping file cannot be private.`,
	run: func(c *adminCall) error {
		var nc store.NewChannel
		c.fs.StringVar(&nc.DisplayName, "display-name", "", "the display name (default CHANNEL)")
		c.fs.BoolVar(&nc.Private, "private", false, "private; else public")
		if err := c.parse(1, 1); err != nil {
			return err
		}
		var err error
		if nc.Team, nc.Name, err = splitChannel(c.args[0]); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		s, err := c.st.CreateChannel(c.ctx, nc)
		if err != nil {
			return fmt.Errorf("channel %s:%s: %w", nc.Team, nc.Name, forPeople(err))
		}
		fmt.Fprintf(c.stdout, "created channel %s:%s (%s, %s)\n", nc.Team, s.Name, s.DisplayName, channelType(s.Type))
		return nil
	},
}

// channelUsersCmd is "channel users add|remove TEAM:CHANNEL USER…".
func channelUsersCmd(add bool) adminCommand {
	cmd := adminCommand{
		synopsis: "TEAM:CHANNEL USER…",
		help: `Adds each account to the channel by hand (source manual). The account must be in the
channel's team already. No SCIM group change removes a membership added by hand.`,
	}
	if !add {
		cmd.help = `Removes what hand or an import added of each account's membership of the channel. What a
group or the team's team-join channels grant stays, and the answer says which does.`
	}
	cmd.run = func(c *adminCall) error {
		if err := c.parse(2, 1+maxAdminArgs); err != nil {
			return err
		}
		team, channel, err := splitChannel(c.args[0])
		if err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		return c.eachUser(c.args[1:], func(key, id string) (string, error) {
			var ch store.MembershipChange
			var err error
			if add {
				ch, err = c.st.AddChannelMember(c.ctx, team, channel, id)
			} else {
				ch, err = c.st.RemoveChannelMember(c.ctx, team, channel, id)
			}
			return ch.String(), err
		})
	}
	return cmd
}
