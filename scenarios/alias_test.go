package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAliasBomb: merge keys nested ten deep, ten wide would expand to
// 10^10 mappings; the decode budget stops it quickly with a problem.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: bomb\nmachines:\n  - name: m0\n    tags:\n      - &a0 {name: a}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "      - &a%d {<<: [", i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		fmt.Fprintf(&b, "], name: b%d}\n", i)
	}
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("alias bomb: %v", err)
	}
	t.Logf("rejected in %s", elapsed)
}
