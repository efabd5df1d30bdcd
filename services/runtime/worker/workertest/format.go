package workertest

import (
	"fmt"
	"strconv"
	"time"
)

func fmtValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.Format("2006-01-02")
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
