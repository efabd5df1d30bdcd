package pgwh

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Postgres's binary numeric is base-10000 digits with a weight (the power
// of 10000 of the first digit), a sign word and a display scale.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

var pow10 = [4]int16{1, 10, 100, 1000}

// numericWriter encodes numerics into a COPY buffer, reusing its scratch
// space so a value costs no allocation.
type numericWriter struct {
	digits []byte
	groups []int16
}

// appendDecimal appends a numeric field (length word included) whose
// value is digits/10^scale: digits are the ASCII decimal digits of the
// unscaled absolute value.
func (w *numericWriter) appendDecimal(buf []byte, neg bool, digits []byte, scale int) []byte {
	intLen := len(digits) - scale // digits before the point; may be <= 0
	hi := floorDiv(intLen-1, 4)   // weight of the group of the first digit
	lo := floorDiv(-scale, 4)     // weight of the group of the last digit
	n := hi - lo + 1
	if cap(w.groups) < n {
		w.groups = make([]int16, n)
	}
	g := w.groups[:n]
	clear(g)
	for j, d := range digits {
		p := intLen - 1 - j // the digit's power of ten
		gw := floorDiv(p, 4)
		g[hi-gw] += int16(d-'0') * pow10[p-4*gw]
	}
	for len(g) > 0 && g[0] == 0 {
		g, hi = g[1:], hi-1
	}
	for len(g) > 0 && g[len(g)-1] == 0 {
		g = g[:len(g)-1]
	}
	sign := uint16(numericPos)
	if len(g) == 0 {
		hi = 0
	} else if neg {
		sign = numericNeg
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*len(g)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(g)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(hi)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, d := range g {
		buf = binary.BigEndian.AppendUint16(buf, uint16(d))
	}
	return buf
}

// appendUint appends abs/10^scale, negated when neg.
func (w *numericWriter) appendUint(buf []byte, neg bool, abs uint64, scale int) []byte {
	w.digits = strconv.AppendUint(w.digits[:0], abs, 10)
	return w.appendDecimal(buf, neg, w.digits, scale)
}

// appendInt appends an integer.
func (w *numericWriter) appendInt(buf []byte, v int64) []byte {
	if v < 0 {
		return w.appendUint(buf, true, uint64(-v), 0) // -MinInt64 wraps to its absolute value
	}
	return w.appendUint(buf, false, uint64(v), 0)
}

// appendFloat appends a float in its shortest exact decimal form; NaN and
// the infinities as numeric's own (infinities need Postgres 14).
func (w *numericWriter) appendFloat(buf []byte, f float64, bits int) []byte {
	special := uint16(0)
	switch {
	case math.IsNaN(f):
		special = numericNaN
	case math.IsInf(f, 1):
		special = numericPInf
	case math.IsInf(f, -1):
		special = numericNInf
	}
	if special != 0 {
		buf = binary.BigEndian.AppendUint32(buf, 8)
		buf = binary.BigEndian.AppendUint16(buf, 0)
		buf = binary.BigEndian.AppendUint16(buf, 0)
		buf = binary.BigEndian.AppendUint16(buf, special)
		return binary.BigEndian.AppendUint16(buf, 0)
	}
	s := strconv.AppendFloat(w.digits[:0], math.Abs(f), 'f', -1, bits)
	scale := 0
	for i, c := range s {
		if c == '.' {
			scale = len(s) - i - 1
			s = append(s[:i], s[i+1:]...)
			break
		}
	}
	w.digits = s
	return w.appendDecimal(buf, f < 0, s, scale)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
