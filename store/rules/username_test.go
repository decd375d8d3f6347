package rules

import (
	"errors"
	"strings"
	"testing"
)

func TestValidUsername(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"abc", true},
		{"jane.doe", true},
		{"jane-doe_", true},
		{"a1", false},
		{"ab", false},
		{strings.Repeat("a", 22), true},
		{strings.Repeat("a", 23), false},
		{"", false},
		{"1abc", false},
		{"_abc", false},
		{".abc", false},
		{"Jane", false},
		{"ja ne", false},
		{"jané", false},
		{"jane@corp", false},
		{"all", false},
		{"channel", false},
		{"matterbot", false},
		{"system", false},
	} {
		if got := ValidUsername(tc.in); got != tc.want {
			t.Errorf("ValidUsername(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestUsername(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"jdoe", "jdoe"},
		{"Jane.Doe@Example.com", "jane.doe"},
		{"jane doe", "jane-doe"},
		{"a - b", "a-b"},
		{"a---b", "a---b"}, // valid as it is
		{"DOMAIN\\jdoe", "domain-jdoe"},
		{"Zoë Müller", "zoe-muller"},
		{"Łukasz@corp.pl", "lukasz"},
		{"..jane--", "jane"},
		{"@alice", "alice"},
		{"007", "u007"},
		{"12", "u12"},
		{"1", "u1-user"},
		{"jo", "jo-user"},
		{"x", "x-user"},
		{"ab....", "ab-user"},
		{"", "user"},
		{"@@@", "user"},
		{"日本太郎", "user"},
		{"all", "all-user"},
		{"System@corp.com", "system-user"},
		{"Matterbot", "matterbot-user"},
		{"channel", "channel-user"},
		{"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuv"},
		{"abcdefghijklmnopqrstu.vwx", "abcdefghijklmnopqrstu"},
		{"9" + strings.Repeat("b", 30), "u9" + strings.Repeat("b", 20)},
	} {
		got, err := Username(tc.in, nil)
		if err != nil || got != tc.want {
			t.Errorf("Username(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !ValidUsername(got) {
			t.Errorf("Username(%q) = %q, not ValidUsername", tc.in, got)
		}
	}
}

func takenSet(names ...string) func(string) (bool, error) {
	return func(s string) (bool, error) {
		for _, n := range names {
			if n == s {
				return true, nil
			}
		}
		return false, nil
	}
}

func TestUsernameCollisions(t *testing.T) {
	long := strings.Repeat("a", 22)
	var long2to9 []string
	for c := '2'; c <= '9'; c++ {
		long2to9 = append(long2to9, long[:21]+string(c))
	}
	for _, tc := range []struct {
		name  string
		in    string
		taken []string
		want  string
	}{
		{"free", "jdoe", nil, "jdoe"},
		{"taken once", "jdoe@a.com", []string{"jdoe"}, "jdoe2"},
		{"taken twice", "jdoe@b.com", []string{"jdoe", "jdoe2"}, "jdoe3"},
		{"gap is reused", "jdoe", []string{"jdoe", "jdoe3"}, "jdoe2"},
		{"long base is cut", long, []string{long}, long[:21] + "2"},
		{"two-digit suffix", long, append([]string{long}, long2to9...), long[:20] + "10"},
		{"padded base", "jo", []string{"jo-user"}, "jo-user2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Username(tc.in, takenSet(tc.taken...))
			if err != nil || got != tc.want {
				t.Fatalf("Username(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if !ValidUsername(got) {
				t.Fatalf("%q is not ValidUsername", got)
			}
		})
	}
}

func TestUsernameGivesUp(t *testing.T) {
	calls := 0
	_, err := Username("jdoe", func(string) (bool, error) { calls++; return true, nil })
	if !errors.Is(err, ErrNoFreeUsername) {
		t.Fatalf("err = %v, want ErrNoFreeUsername", err)
	}
	if calls != maxUsernameTries {
		t.Errorf("taken called %d times, want %d", calls, maxUsernameTries)
	}
	if !strings.Contains(err.Error(), `"jdoe"`) || !strings.Contains(err.Error(), `"jdoe10000"`) {
		t.Errorf("error %q should name the base and the last candidate", err)
	}
}

func TestUsernameTakenFails(t *testing.T) {
	boom := errors.New("db down")
	_, err := Username("jdoe", func(string) (bool, error) { return false, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"jdoe"`) {
		t.Fatalf("err = %v, want it to wrap %v and name the candidate", err, boom)
	}
}
