package triage

import "math"

// binLL is the binomial log-likelihood of e failures in n requests at the
// maximum-likelihood rate e/n.
func binLL(e, n float64) float64 {
	if n <= 0 || e <= 0 || e >= n {
		return 0
	}
	p := e / n
	return e*math.Log(p) + (n-e)*math.Log(1-p)
}

// SplitLLR is the binomial log-likelihood ratio of two failure rates (e1
// failures of n1, e2 of n2) against one shared rate: the statistic the
// onset's segmentation maximises, for stages that compare two windows
// (twice it is the G-test statistic).
func SplitLLR(e1, n1, e2, n2 float64) float64 {
	return binLL(e1, n1) + binLL(e2, n2) - binLL(e1+e2, n1+n2)
}

// wilsonLower is the lower bound of the Wilson score interval for e
// successes in n trials at z standard deviations.
func wilsonLower(e, n, z float64) float64 {
	if n <= 0 {
		return 0
	}
	p := e / n
	z2 := z * z
	d := 1 + z2/n
	c := p + z2/(2*n)
	r := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, (c-r)/d)
}

// twoPropZ is the pooled two-proportion z statistic of e1/n1 against e2/n2
// (positive when the first rate is higher).
func twoPropZ(e1, n1, e2, n2 float64) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 0
	}
	p := (e1 + e2) / (n1 + n2)
	if p <= 0 || p >= 1 {
		return 0
	}
	se := math.Sqrt(p * (1 - p) * (1/n1 + 1/n2))
	return (e1/n1 - e2/n2) / se
}

// rateZ is the z statistic of e failures in n requests against an expected
// rate p (with a floor so a zero baseline does not make everything
// infinitely significant).
func rateZ(e, n, p float64) float64 {
	if n <= 0 {
		return 0
	}
	p = math.Max(p, 0.5/math.Max(n, 1))
	p = math.Min(p, 1-1e-9)
	return (e - n*p) / math.Sqrt(n*p*(1-p))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ptr[T any](v T) *T { return &v }

// bitset is a set of sample indexes.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
