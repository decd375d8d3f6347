package rules_test

import (
	"fmt"

	"github.com/townsquare/townsquare/store/rules"
)

func ExampleTeamNameFrom() {
	fmt.Println(rules.TeamNameFrom("Sales & Marketing EMEA"))
	fmt.Println(rules.TeamNameFrom("Helpdesk")) // "help" is a reserved prefix
	fmt.Println(rules.TeamNameFrom("Zoë's Équipe"))
	// Output:
	// sales-marketing-emea
	// team-helpdesk
	// zoe-s-equipe
}

func ExampleUsername() {
	taken := map[string]bool{"jdoe": true}
	name, _ := rules.Username("JDoe@example.com", func(s string) (bool, error) { return taken[s], nil })
	fmt.Println(name)
	// Output: jdoe2
}

func ExampleConfig_Resolve() {
	c, err := rules.Parse([]byte(`
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend]
  - match: {displayNamePrefix: "team-"}
    teams: ["{suffix}"]
`))
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"engineering", "Team-Sales EMEA", "Marketing"} {
		t := c.Resolve(name, "")
		fmt.Printf("rule %d: teams %v, channels %v, %s, team display name %q\n", t.Rule, t.Teams, t.Channels, t.Kind(), t.TeamDisplayName)
	}
	fmt.Println(c.TeamJoinChannels())
	// Output:
	// rule 0: teams [engineering], channels [engineering/backend], member, team display name ""
	// rule 1: teams [sales-emea], channels [], member, team display name ""
	// rule -1: teams [marketing], channels [], member, team display name "Marketing"
	// [town-square off-topic]
}

func ExampleParse_error() {
	_, err := rules.Parse([]byte("groups:\n  - match: {displayName: Support}\n    teams: [Helpdesk]\n"))
	fmt.Println(err)
	// Output: line 3: groups[0].teams[0]: "Helpdesk" is not a valid team name: use only lower-case letters a-z, digits and '-', starting and ending with a letter or digit (did you mean "team-helpdesk"?)
}
