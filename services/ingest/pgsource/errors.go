package pgsource

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// Errors a pull cannot retry its way out of.
var (
	ErrNoTable         = errors.New("no such table")
	ErrNoColumn        = errors.New("no such column")
	ErrUnsupportedType = errors.New("unsupported column type")
	ErrBookmarkType    = errors.New("the bookmark column's type does not order")
)

type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

func permanent(err error) error { return permanentError{err} }

// Permanent reports whether retrying cannot help: a bad URL, a missing
// table or column, an unsupported type, or the server refusing what was
// asked (SQL errors, privileges, authentication, bad data). Connection
// failures, shutdowns, cancellations, lack of resources and serialization
// conflicts are transient.
func Permanent(err error) bool {
	var p permanentError
	if errors.As(err, &p) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 {
		switch pe.Code[:2] {
		case "08", // connection exception
			"40", // transaction rollback: serialization failure, deadlock
			"53", // insufficient resources
			"57", // operator intervention: shutdown, cancel, statement timeout
			"58": // system error (I/O)
			return false
		}
		return true
	}
	return false
}
