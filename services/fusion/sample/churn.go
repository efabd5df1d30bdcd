// Package sample generates the churn sample: customers of a subscription
// service, their recent activity and whether they churned. The same seed
// and row count always produce the same bytes, so the committed model and
// its reference predictions stay valid.
package sample

import (
	"bufio"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// DefaultSeed and DefaultRows produce the dataset the committed models
// were trained on.
const (
	DefaultSeed = 42
	DefaultRows = 10000
)

// Header is the CSV header of the churn sample.
const Header = "customer_id,signup_date,country,plan,monthly_fee,tenure_months,sessions_30d,avg_session_minutes,support_tickets_90d,payment_failures_90d,last_login_days_ago,discount_pct,churned"

var (
	countries      = []string{"us", "gb", "de", "fr", "in", "br", "ca", "au", "es", "jp"}
	countryWeights = []float64{0.34, 0.12, 0.1, 0.08, 0.1, 0.07, 0.06, 0.05, 0.04, 0.04}
	countryPrice   = []float64{1, 0.9, 0.95, 0.95, 0.45, 0.55, 1, 1.05, 0.85, 1.1}
	plans          = []string{"basic", "standard", "premium"}
	planFee        = []float64{9.99, 19.99, 39.99}
	asOf           = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

// Churn writes rows customers as CSV, header first.
func Churn(w io.Writer, rows int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	if _, err := bw.WriteString(Header + "\n"); err != nil {
		return err
	}
	buf := make([]byte, 0, 256)
	for i := 0; i < rows; i++ {
		buf = appendCustomer(buf[:0], rng, int64(100000+i))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendCustomer(b []byte, rng *rand.Rand, id int64) []byte {
	engagement := rng.NormFloat64() // latent: how much the customer uses the product
	tenure := 1 + int(math.Min(71, math.Exp(rng.Float64()*4.3)))
	signup := asOf.AddDate(0, -tenure, -rng.IntN(28))
	c := pick(rng, countryWeights)
	plan := pick(rng, []float64{0.5, 0.35, 0.15})
	fee := math.Round(planFee[plan]*countryPrice[c]*100) / 100
	if rng.Float64() < 0.005 {
		fee = 0 // internal test accounts
	}
	sessions := int(math.Max(0, math.Round(12+9*engagement+2*float64(plan)+rng.NormFloat64()*4)))
	minutes := math.Round(math.Exp(2.6+0.35*engagement+rng.NormFloat64()*0.4)*10) / 10
	tickets := int(math.Max(0, math.Round(rng.ExpFloat64()*0.8-0.3*engagement)))
	failures := 0
	if rng.Float64() < 0.08 {
		failures = 1 + rng.IntN(3)
	}
	lastLogin := int(math.Min(90, math.Max(0, math.Round(rng.ExpFloat64()*6*math.Exp(-0.8*engagement)))))
	discount := -1.0
	if rng.Float64() < 0.3 {
		discount = float64(5 * (1 + rng.IntN(5)))
	}
	z := -1.6 + 0.09*float64(lastLogin) - 0.035*float64(tenure) + 0.45*float64(tickets) +
		0.7*float64(failures) - 0.05*float64(sessions) - 0.25*float64(plan) - 0.02*math.Max(discount, 0) + rng.NormFloat64()*0.5
	churned := rng.Float64() < 1/(1+math.Exp(-z))

	b = strconv.AppendInt(b, id, 10)
	b = append(b, ',')
	b = signup.AppendFormat(b, "2006-01-02")
	b = append(b, ',')
	b = append(b, countries[c]...)
	b = append(b, ',')
	b = append(b, plans[plan]...)
	b = append(b, ',')
	b = strconv.AppendFloat(b, fee, 'f', 2, 64)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(tenure), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(sessions), 10)
	b = append(b, ',')
	if rng.Float64() >= 0.01 { // 1% unknown: missing values reach the model
		b = strconv.AppendFloat(b, minutes, 'f', 1, 64)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(tickets), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(failures), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(lastLogin), 10)
	b = append(b, ',')
	if discount >= 0 {
		b = strconv.AppendFloat(b, discount, 'f', 0, 64)
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, churned)
	return append(b, '\n')
}

func pick(rng *rand.Rand, weights []float64) int {
	x := rng.Float64()
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
