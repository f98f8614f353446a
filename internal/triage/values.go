package triage

// ValueStat counts one value of a dimension in the incident and baseline
// windows of a result.
type ValueStat struct {
	Value                    string
	Requests, Errors         int64
	BaseRequests, BaseErrors int64
}

// Values returns the counts of every value of the named dimension over the
// windows of res (the result Run produced from this aggregate), for stages
// that reason about values beyond the reported findings — rolling
// instances up to their node or zone, say. A second pass's aggregate
// (Analysis.ClientAggregate) counts over that pass's own windows. It
// returns nil for an unknown or dropped dimension.
func (a *Aggregator) Values(dim string, res *Result) []ValueStat {
	i, ok := a.dimByName[dim]
	if !ok {
		return nil
	}
	d := a.dims[i]
	if d.dropped {
		return nil
	}
	var w windows
	switch {
	case a.passWindows != nil:
		w = *a.passWindows
	case res == nil || res.Window.Incident.Start == nil || res.Window.Incident.End == nil:
		return nil
	default:
		w = windows{incStart: res.Window.Incident.Start.UnixNano(), incEnd: res.Window.Incident.End.UnixNano()}
		if b := res.Window.Baseline; b.Start != nil && b.End != nil {
			w.hasBase, w.baseStart, w.baseEnd = true, b.Start.UnixNano(), b.End.UnixNano()
		}
	}
	win := a.slotWindows(w)
	var out []ValueStat
	for id := 1; id < len(d.vals); id++ {
		st := ValueStat{Value: d.vals[id]}
		for p, k := range win {
			c0, c1 := d.count(id, p)
			ok, failed := int64(c0), int64(c1)
			switch k {
			case 1:
				st.Requests += ok + failed
				st.Errors += failed
			case 2:
				st.BaseRequests += ok + failed
				st.BaseErrors += failed
			}
		}
		if st.Requests+st.BaseRequests > 0 {
			out = append(out, st)
		}
	}
	return out
}

// PassFailures is the number of failures in the incident window of a
// second pass's aggregate (the client errors of Analysis.ClientAggregate),
// 0 for the first pass's.
func (a *Aggregator) PassFailures() int64 {
	if a.passWindows == nil {
		return 0
	}
	_, e, _, _ := a.windowTotals(*a.passWindows)
	return int64(e)
}
