package resources

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// passwordIterations is the PBKDF2-SHA256 work factor. Chat accounts bound to an IdP
// log in through it (Mattermost refuses a password beside auth_data), so this hash is
// never checked on a hot path; it exists so that a password an IdP pushes is never
// kept in clear. The cost is kept modest because Okta sends one with every create.
const passwordIterations = 10_000

// hashPassword returns "pbkdf2-sha256$<iterations>$<salt>$<key>" (base64, no padding).
func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, pw, salt, passwordIterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}
