package jsonl

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// benchFile is a file of n users, each in one of 100 teams and 5 of its 10 channels,
// the shape of issue 12's 100k-user target at any n.
func benchFile(n int) []byte {
	var b strings.Builder
	b.WriteString(versionLine + "\n")
	for t := 0; t < 100; t++ {
		fmt.Fprintf(&b, `{"type":"team","team":{"name":"team%d","display_name":"Team %d","type":"O"}}`+"\n", t, t)
	}
	for t := 0; t < 100; t++ {
		for c := 0; c < 10; c++ {
			fmt.Fprintf(&b, `{"type":"channel","channel":{"team":"team%d","name":"chan%d","display_name":"Chan %d","type":"O"}}`+"\n", t, c, c)
		}
	}
	for u := 0; u < n; u++ {
		var chs []string
		for k := 0; k < 5; k++ {
			chs = append(chs, fmt.Sprintf(`{"name":"chan%d","roles":"channel_user"}`, (u+k)%10))
		}
		fmt.Fprintf(&b, `{"type":"user","user":{"username":"user%d","email":"user%d@example.com","auth_service":"saml","auth_data":"ext%d","first_name":"F","last_name":"L","roles":"system_user","teams":[{"name":"team%d","roles":"team_user","channels":[%s]}]}}`+"\n",
			u, u, u, u%100, strings.Join(chs, ","))
	}
	return []byte(b.String())
}

// BenchmarkValidate is the first pass of an import over 10,000 users: what checking a
// file costs before the store sees it (docs/performance.md).
func BenchmarkValidate(b *testing.B) {
	data := benchFile(10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sum, err := Validate(context.Background(), bytesSource(data), nil, nil)
		if err != nil || sum.ErrorCount != 0 {
			b.Fatal(err, sum.Errors)
		}
	}
}

// TestWriteBenchFile writes the file of issue 12's performance target (100,000 users,
// 500,000 channel memberships in 100 teams of 10 channels) to the path in
// TOWNSQUARE_BULK_FILE, for `townsquare import` and `export` to be timed on
// (docs/performance.md). Without the variable it does nothing.
func TestWriteBenchFile(t *testing.T) {
	p := os.Getenv("TOWNSQUARE_BULK_FILE")
	if p == "" {
		t.Skip("TOWNSQUARE_BULK_FILE is not set")
	}
	if err := os.WriteFile(p, benchFile(100000), 0o600); err != nil {
		t.Fatal(err)
	}
}
