package store

// Dialect names the SQL database behind a Store. Code that builds SQL (the filter
// compiler) asks for it where the two databases differ.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// Where is a parameterised SQL condition: SQL uses '?' placeholders only (the store
// rebinds them for PostgreSQL) and Args holds the values, in order. User input only ever
// travels in Args.
type Where struct {
	SQL  string
	Args []any
}

// Query is what a list request asks of the store: a condition (empty SQL = all rows) and
// a page. StartIndex is 1-based as in SCIM; Count 0 asks only for the total.
type Query struct {
	Where      Where
	StartIndex int
	Count      int
}
