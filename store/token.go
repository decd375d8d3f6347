package store

import "time"

// Token is a named API bearer token. Only a hash of the secret is stored.
type Token struct {
	Name    string
	Created time.Time
}
