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
	fmt.Printf("%+v\n", c.Resolve("engineering", ""))
	fmt.Printf("%+v\n", c.Resolve("Team-Sales EMEA", ""))
	fmt.Printf("%+v\n", c.Resolve("Marketing", ""))
	fmt.Println(c.TeamJoinChannels())
	// Output:
	// {Teams:[engineering] Channels:[engineering/backend] Rule:0}
	// {Teams:[sales-emea] Channels:[] Rule:1}
	// {Teams:[marketing] Channels:[] Rule:-1}
	// [town-square off-topic]
}

func ExampleParse_error() {
	_, err := rules.Parse([]byte("groups:\n  - match: {displayName: Support}\n    teams: [Helpdesk]\n"))
	fmt.Println(err)
	// Output: line 3: groups[0].teams[0]: "Helpdesk" is not a valid team name: use only lower-case letters a-z, digits and '-', starting and ending with a letter or digit (did you mean "team-helpdesk"?)
}
