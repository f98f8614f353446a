package accesslog

import "math"

// daysFromCivil returns days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm), so that time parsing avoids time.Date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func num(b []byte) (int, bool) {
	n := 0
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

var months = map[string]int{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

func month3(b []byte) int {
	if len(b) != 3 {
		return 0
	}
	return months[string(b)]
}

func unixNano(y, mo, d, h, mi, s int, frac int64, offSec int) int64 {
	days := daysFromCivil(y, mo, d)
	secs := days*86400 + int64(h*3600+mi*60+s) - int64(offSec)
	return secs*1e9 + frac
}

// timeLocal parses nginx's $time_local, "17/May/2015:10:05:03 +0000",
// reusing the previous result when the text repeats (most lines share
// their second with a neighbour).
func (d *deriver) timeLocal(b []byte) (int64, bool) {
	if string(b) == string(d.lastTL) && len(b) > 0 {
		return d.lastNS, true
	}
	ns, ok := parseTimeLocal(b)
	if ok {
		d.lastTL = append(d.lastTL[:0], b...)
		d.lastNS = ns
	}
	return ns, ok
}

func parseTimeLocal(b []byte) (int64, bool) {
	// 02/Jan/2006:15:04:05 -0700, optionally with .000 milliseconds (HAProxy)
	if len(b) < 20 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' {
		return 0, false
	}
	d, ok1 := num(b[0:2])
	mo := month3(b[3:6])
	y, ok2 := num(b[7:11])
	h, ok3 := num(b[12:14])
	mi, ok4 := num(b[15:17])
	s, ok5 := num(b[18:20])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mo == 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	rest := b[20:]
	var frac int64
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := int64(1e9)
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			scale /= 10
			frac += int64(rest[i]-'0') * scale
			i++
		}
		rest = rest[i:]
	}
	off := 0
	if len(rest) > 0 {
		if len(rest) != 6 || rest[0] != ' ' || (rest[1] != '+' && rest[1] != '-') {
			return 0, false
		}
		oh, ok1 := num(rest[2:4])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 {
			return 0, false
		}
		off = oh*3600 + om*60
		if rest[1] == '-' {
			off = -off
		}
	}
	return unixNano(y, mo, d, h, mi, s, frac, off), true
}

// civil reads the date and time at the fixed places of 2026-11-20T12:03:00
// and of nginx's error log, 2026/11/20 12:03:00 (the caller checks the
// separators): year, month, day, hour, minute and second.
func civil(b []byte) (y, mo, d, h, mi, s int, ok bool) {
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	return y, mo, d, h, mi, s, ok1 && ok2 && ok3 && ok4 && ok5 && ok6
}

// parseISO parses RFC 3339 / ISO 8601 times: 2026-11-20T12:03:00Z,
// 2026-11-20T12:03:00.123456+01:00, and a space instead of the T.
func parseISO(b []byte) (int64, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y, mo, d, h, mi, s, ok := civil(b)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	rest := b[19:]
	var frac int64
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := int64(1e9)
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if scale > 1 {
				scale /= 10
				frac += int64(rest[i]-'0') * scale
			}
			i++
		}
		rest = rest[i:]
	}
	off := 0
	switch {
	case len(rest) == 0 || (len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z')):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 {
			return 0, false
		}
		off = oh*3600 + om*60
	case len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[3:5])
		if !ok1 || !ok2 {
			return 0, false
		}
		off = oh*3600 + om*60
	default:
		return 0, false
	}
	if len(rest) > 0 && rest[0] == '-' {
		off = -off
	}
	return unixNano(y, mo, d, h, mi, s, frac, off), true
}

// parseEpoch parses seconds since the epoch with an optional fraction
// ($msec: 1732100000.123), or milli-, micro- or nanoseconds when the
// number is that large (Kong's started_at, Cloudflare's timestamps).
func parseEpoch(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var whole int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if whole > (math.MaxInt64-9)/10 {
			return 0, false
		}
		whole = whole*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return 0, false
	}
	var frac int64
	if i < len(b) && b[i] == '.' {
		i++
		scale := int64(1e9)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if scale > 1 {
				scale /= 10
				frac += int64(b[i]-'0') * scale
			}
			i++
		}
	}
	if i != len(b) {
		return 0, false
	}
	switch {
	case whole > 1e17: // nanoseconds
		return whole, true
	case whole > 1e14: // microseconds
		return whole * 1e3, true
	case whole > 1e11: // milliseconds
		return whole*1e6 + frac/1e3, true
	}
	return whole*1e9 + frac, true
}
