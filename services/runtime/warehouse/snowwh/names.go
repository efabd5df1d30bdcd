package snowwh

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/engine"
)

// Names. Snowflake folds unquoted identifiers to upper case, and users type
// simple names unquoted. So a simple lower-case name from a pipeline or from
// the data (customers, order_id) is stored in its upper-case form
// (CUSTOMERS, ORDER_ID), which an unquoted reference finds; any other name
// (Order, "a b", k"ey) is stored exactly as written. Either way every
// statement quotes it.

var simpleName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// fold is the name Snowflake stores for a name from a pipeline or the data.
func fold(name string) string {
	if simpleName.MatchString(name) {
		return strings.ToUpper(name)
	}
	return name
}

// ident quotes a name from a pipeline or the data.
func ident(name string) string { return engine.QuoteIdent(fold(name)) }

// schemaName is a database and schema, as stored.
type schemaName struct{ Database, Schema string }

func (s schemaName) String() string {
	return engine.QuoteIdent(s.Database) + "." + engine.QuoteIdent(s.Schema)
}

// tableName is a table, as stored.
type tableName struct {
	schemaName
	Name string
}

func (t tableName) String() string { return t.schemaName.String() + "." + engine.QuoteIdent(t.Name) }

// table resolves a request's table, [[database.]schema.]table, in the
// home schema.
func (w *Warehouse) table(name string) (tableName, error) {
	parts := strings.Split(name, ".")
	for _, p := range parts {
		if p == "" || len(parts) > 3 {
			return tableName{}, fmt.Errorf("table %q: want [[database.]schema.]table", name)
		}
	}
	t := tableName{schemaName: w.home, Name: fold(parts[len(parts)-1])}
	switch len(parts) {
	case 3:
		t.Database, t.Schema = fold(parts[0]), fold(parts[1])
	case 2:
		t.Schema = fold(parts[0])
	}
	return t, nil
}

// in names an object of fusion's own in the home schema.
func (w *Warehouse) in(name string) tableName { return tableName{schemaName: w.home, Name: name} }
