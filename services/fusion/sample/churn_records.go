package sample

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
)

// churnJSONKinds says how each column of the churn sample is written as
// JSON: a number, a boolean, or text.
var churnJSONKinds = map[string]byte{
	"customer_id": 'n', "monthly_fee": 'n', "tenure_months": 'n', "sessions_30d": 'n', "avg_session_minutes": 'n',
	"support_tickets_90d": 'n', "payment_failures_90d": 'n', "last_login_days_ago": 'n', "discount_pct": 'n', "churned": 'b',
}

// ChurnRecords returns the churn sample as JSON objects, one per customer,
// in order: the same customers and values as Churn's CSV (numbers as
// numbers, churned as a boolean, an empty CSV value as null), for feeding
// a stream.
func ChurnRecords(rows int, seed uint64) ([]json.RawMessage, error) {
	var buf bytes.Buffer
	if err := Churn(&buf, rows, seed); err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return nil, err
	}
	header := recs[0]
	out := make([]json.RawMessage, 0, len(recs)-1)
	for _, r := range recs[1:] {
		var b strings.Builder
		b.WriteByte('{')
		for i, v := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:", header[i])
			switch {
			case v == "":
				b.WriteString("null")
			case churnJSONKinds[header[i]] != 0:
				b.WriteString(v) // the CSV's number or true/false, verbatim
			default:
				q, _ := json.Marshal(v)
				b.Write(q)
			}
		}
		b.WriteByte('}')
		out = append(out, json.RawMessage(b.String()))
	}
	return out, nil
}
