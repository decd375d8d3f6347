package resources

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// A password an IdP pushes is kept only as an argon2id hash (RFC 9106, from
// golang.org/x/crypto/argon2). Chat accounts bound to an IdP sign in through it
// (Mattermost refuses a password beside auth_data), so no request checks a password; the
// hash exists so that a pushed password is never kept in a form that is cheap to
// reverse.
//
// The parameters are the option of OWASP's Password Storage Cheat Sheet with the least
// memory: m = 7 MiB, t = 5, p = 1. Every option on that list gives the same defence, and
// the least memory keeps creates cheap, as Okta sends a password with every create. One
// hash costs about 20 ms of one core (docs/performance.md).
const (
	argonTime    = 5
	argonMemory  = 7 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashSlots bounds how many hashes run at once to the number of cores: hashing is CPU
// work, so more at once only queues inside the scheduler, and each holds argonMemory
// while it runs. The memory they take is then at most GOMAXPROCS × 7 MiB, however many
// creates arrive together; the others wait for a slot, or for their request's deadline.
var hashSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// hashPassword returns pw's argon2id hash in the PHC string format that libraries and
// the reference implementation read: "$argon2id$v=19$m=7168,t=5,p=1$<salt>$<key>",
// base64 without padding. It waits for a slot (hashSlots) no longer than ctx allows.
func hashPassword(ctx context.Context, pw string) (string, error) {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("hash password: %w", ctx.Err())
	}
	defer func() { <-hashSlots }()
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// HashPassword is the hash a SCIM password is kept as (hashPassword), for other ways in
// that set one: a bulk import's password (store/jsonl).
func HashPassword(ctx context.Context, pw string) (string, error) { return hashPassword(ctx, pw) }

// errBadHash is a stored hash VerifyPassword cannot read.
var errBadHash = errors.New("not a password hash this server wrote")

// VerifyPassword reports whether pw is the password hash was made from. It reads the
// argon2id hashes hashPassword writes and the "pbkdf2-sha256$<iterations>$<salt>$<key>"
// hashes of earlier versions, which stay in the database until the IdP sends the
// password again. No request checks a password today (see above): this exists for the
// tests, and for whatever signs accounts in later.
func VerifyPassword(hash, pw string) (bool, error) {
	enc := base64.RawStdEncoding
	if rest, ok := strings.CutPrefix(hash, "pbkdf2-sha256$"); ok {
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return false, errBadHash
		}
		iter, err := strconv.Atoi(parts[0])
		salt, err2 := enc.DecodeString(parts[1])
		want, err3 := enc.DecodeString(parts[2])
		if err != nil || err2 != nil || err3 != nil || iter < 1 || iter > 10_000_000 || len(want) == 0 {
			return false, errBadHash
		}
		got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
		if err != nil {
			return false, err
		}
		return subtle.ConstantTimeCompare(got, want) == 1, nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 8 || m > 1<<20 || t < 1 || t > 100 || p < 1 {
		return false, errBadHash
	}
	salt, err := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err != nil || err2 != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
