package signal

// Series is one metric time series: a name, its labels and its samples in
// time order.
type Series struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Points []Point           `json:"points"`
}

// Point is one sample: Unix milliseconds and a value.
type Point struct {
	T int64   `json:"t"`
	V float64 `json:"v"`
}
