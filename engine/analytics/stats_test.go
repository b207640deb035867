package analytics

import (
	"math"
	"testing"
)

func TestBucket(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{{-5, 0}, {0, 0}, {999, 999}, {1000, 1000}, {1234, 1200}, {56789, 56000}, {99999, 99000}, {100000, 100000}, {123456789, 120000000}} {
		if got := Bucket(c.in); got != c.want {
			t.Errorf("Bucket(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

// The chi-square test of two variants is the two-proportion z-test; with
// more it follows the chi-square distribution's tail.
func TestPValue(t *testing.T) {
	p := PValue([]int64{1000, 1000}, []int64{100, 130})
	z := (0.13 - 0.10) / math.Sqrt(0.115*0.885*(2.0/1000))
	want := math.Erfc(z / math.Sqrt2)
	if p == nil || math.Abs(*p-want) > 1e-12 {
		t.Fatalf("p = %v, want %v", p, want)
	}
	if p := PValue([]int64{10, 10}, []int64{0, 0}); p != nil {
		t.Errorf("nobody reached the goal: p = %v, want none", *p)
	}
	if p := PValue([]int64{10, 0}, []int64{3, 0}); p != nil {
		t.Errorf("one variant: p = %v, want none", *p)
	}
	// Three variants, df = 2: chi2 of 5.991 is the 5% point.
	if got := chiSquareSurvival(5.991464547, 2); math.Abs(got-0.05) > 1e-6 {
		t.Errorf("Q(chi2=5.99, df=2) = %v, want 0.05", got)
	}
	if got := chiSquareSurvival(11.0704977, 5); math.Abs(got-0.05) > 1e-6 {
		t.Errorf("Q(chi2=11.07, df=5) = %v, want 0.05", got)
	}
}
