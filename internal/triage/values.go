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
	d := a.liveDimension(dim)
	if d == nil {
		return nil
	}
	w, ok := a.windowsOf(res)
	if !ok {
		return nil
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

// windowsOf returns the windows Values counts over: a second pass's own,
// else res's (false when res has no incident window).
func (a *Aggregator) windowsOf(res *Result) (windows, bool) {
	switch {
	case a.passWindows != nil:
		return *a.passWindows, true
	case res == nil || res.Window.Incident.Start == nil || res.Window.Incident.End == nil:
		return windows{}, false
	}
	w := windows{incStart: res.Window.Incident.Start.UnixNano(), incEnd: res.Window.Incident.End.UnixNano()}
	if b := res.Window.Baseline; b.Start != nil && b.End != nil {
		w.hasBase, w.baseStart, w.baseEnd = true, b.Start.UnixNano(), b.End.UnixNano()
	}
	return w, true
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

// IncidentErrors returns, for every value of the named dimension that
// failed in the incident window of res, its failures per time slot of
// that window (the per-value counts' slots, oldest first; a slot that
// straddles the window's edges counts). The slots say when each value
// failed: instances failing one after another, rather than together.
// It returns nil for an unknown or dropped dimension.
func (a *Aggregator) IncidentErrors(dim string, res *Result) map[string][]uint32 {
	d := a.liveDimension(dim)
	if d == nil {
		return nil
	}
	w, ok := a.windowsOf(res)
	if !ok {
		return nil
	}
	var slots []int
	for p, k := range a.slotWindows(w) {
		if k == 1 {
			slots = append(slots, p)
		}
	}
	out := map[string][]uint32{}
	for id := 1; id < len(d.vals); id++ {
		var errs []uint32
		for j, p := range slots {
			if _, failed := d.count(id, p); failed > 0 {
				if errs == nil {
					errs = make([]uint32, len(slots))
				}
				errs[j] = failed
			}
		}
		if errs != nil {
			out[d.vals[id]] = errs
		}
	}
	return out
}
