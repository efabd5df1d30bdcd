package warehouse

import "testing"

func TestFitOf(t *testing.T) {
	for _, c := range []struct {
		from, to string
		want     Fit
	}{
		{"BIGINT", "BIGINT", Fits},
		{"INTEGER", "BIGINT", Fits},
		{"BIGINT", "INTEGER", Narrows},
		{"UINTEGER", "INTEGER", Narrows},
		{"UINTEGER", "BIGINT", Fits},
		{"INTEGER", "DECIMAL(10,0)", Fits},
		{"BIGINT", "DECIMAL(10,2)", Narrows},
		{"DECIMAL(18,2)", "DECIMAL(10,2)", Narrows},
		{"DECIMAL(8,2)", "DECIMAL(10,2)", Fits},
		{"DECIMAL(10,3)", "DECIMAL(10,2)", Refused},
		{"DOUBLE", "FLOAT", Narrows},
		{"INTEGER", "DOUBLE", Fits},
		{"DOUBLE", "BIGINT", Refused},
		{"VARCHAR", "BIGINT", Refused},
		{"BIGINT", "VARCHAR", Fits},
		{"VARCHAR", "VARCHAR(10)", Narrows},
		{"DATE", "TIMESTAMP", Fits},
		{"TIMESTAMP", "DATE", Refused},
		{"BOOLEAN", "INTEGER", Refused},
		{"INTEGER[]", "INTEGER[]", Fits},
		{"INTEGER[]", "VARCHAR", Refused},
		{"numeric(12, 4)", "DECIMAL(12,4)", Fits},
		{"timestamptz", "TIMESTAMP WITH TIME ZONE", Fits},
	} {
		if got := FitOf(ParseType(c.from), ParseType(c.to)); got != c.want {
			t.Errorf("%s into %s: %v, want %v", c.from, c.to, got, c.want)
		}
	}
}
