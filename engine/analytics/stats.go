package analytics

import "math"

// PValue tests whether reaching a goal depends on the variant: the
// chi-square test of independence on the variants × (reached, not)
// table, which for two variants is the two-sided two-proportion z-test.
// It is nil when the test says nothing (fewer than two variants with
// runs, or nobody or everybody reached the goal).
func PValue(entered, reached []int64) *float64 {
	var n, hits float64
	k := 0
	for i := range entered {
		if entered[i] > 0 {
			k++
			n += float64(entered[i])
			hits += float64(min(reached[i], entered[i]))
		}
	}
	if k < 2 || hits == 0 || hits == n {
		return nil
	}
	p := hits / n
	var chi2 float64
	for i := range entered {
		e := float64(entered[i])
		if e == 0 {
			continue
		}
		r := float64(min(reached[i], entered[i]))
		for _, c := range [2][2]float64{{r, e * p}, {e - r, e * (1 - p)}} {
			chi2 += (c[0] - c[1]) * (c[0] - c[1]) / c[1]
		}
	}
	pv := chiSquareSurvival(chi2, float64(k-1))
	return &pv
}

// chiSquareSurvival is P(X ≥ x) for X chi-square with df degrees of
// freedom: the regularized upper incomplete gamma Q(df/2, x/2).
func chiSquareSurvival(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	if df == 1 {
		return math.Erfc(math.Sqrt(x / 2))
	}
	return gammaQ(df/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma function (series below
// a+1, continued fraction above; Numerical Recipes' gser and gcf).
func gammaQ(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 500; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return 1 - sum*math.Exp(-x+a*math.Log(x)-lg)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 500; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}
