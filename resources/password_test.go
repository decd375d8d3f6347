package resources

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPasswordHashes: a new hash is argon2id with OWASP's parameters in the PHC format,
// salted (two hashes of one password differ), and verifies its password only; the
// PBKDF2 hashes of earlier versions still verify; a hash that is neither is an error.
func TestPasswordHashes(t *testing.T) {
	ctx := context.Background()
	h1, err := hashPassword(ctx, "s3cret!")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPassword(ctx, "s3cret!")
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=7168,t=5,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h1) || h1 == h2 {
		t.Fatalf("hashes %q, %q", h1, h2)
	}
	enc := base64.RawStdEncoding
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, "old-s3cret", salt, 10_000, 32)
	if err != nil {
		t.Fatal(err)
	}
	old := fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", 10_000, enc.EncodeToString(salt), enc.EncodeToString(key))
	for _, c := range []struct {
		name, hash, pw string
		ok             bool
	}{
		{"argon2id, right", h1, "s3cret!", true},
		{"argon2id, wrong", h1, "s3cret", false},
		{"argon2id, empty", h1, "", false},
		{"pbkdf2, right", old, "old-s3cret", true},
		{"pbkdf2, wrong", old, "s3cret!", false},
	} {
		ok, err := VerifyPassword(c.hash, c.pw)
		if err != nil || ok != c.ok {
			t.Errorf("%s: VerifyPassword = %v, %v; want %v", c.name, ok, err, c.ok)
		}
	}
	for _, bad := range []string{"", "s3cret!", "$argon2i$v=19$m=7168,t=5,p=1$c2FsdHNhbHRzYWx0$a2V5",
		"$argon2id$v=16$m=7168,t=5,p=1$c2FsdHNhbHRzYWx0$a2V5", "$argon2id$v=19$m=99999999,t=5,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=7168,t=5,p=1$!!$a2V5", "pbkdf2-sha256$0$c2FsdA$a2V5", "pbkdf2-sha256$10$c2FsdA", "pbkdf2-sha256$10$c2FsdA$"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword(%q) read it", bad)
		}
	}
}

// TestHashWaitsForASlotNoLongerThanItsContext: hashes run at most GOMAXPROCS at once; a
// hash that cannot get a slot before its request's deadline ends with the deadline.
func TestHashWaitsForASlotNoLongerThanItsContext(t *testing.T) {
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	defer func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := hashPassword(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("waited %v", took)
	}
}

// HashPassword writes what VerifyPassword reads, the argon2id hash SCIM passwords get.
func TestHashPasswordExported(t *testing.T) {
	h, err := HashPassword(context.Background(), "s3cret")
	if err != nil || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("%q %v", h, err)
	}
	if ok, err := VerifyPassword(h, "s3cret"); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
}
