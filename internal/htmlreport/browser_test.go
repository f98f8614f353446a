package htmlreport

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/img/triage-report.png from the browser test")

// chromium finds the browser, skipping the test when it is missing (and
// failing under CI=true, where scripts/install-deps.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; scripts/install-deps.sh installs it")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// TestBrowserScreenshot renders the report in real headless Chromium from
// a local file (no network) and checks the screenshot: the right size, not
// blank, and with the chart's red error line and onset drawn.
func TestBrowserScreenshot(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := chromium(t)
	dir := t.TempDir()
	res, changes := sampleResult()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, res, changes), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars",
		// Belt and braces for "loopback only": no name resolves, and any
		// request the browser might still make goes to a closed loopback port.
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
		"--no-pings", "--disable-domain-reliability", "--metrics-recording-only",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--screenshot="+shot, "--window-size=1280,2000",
		"file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out.String())
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2000 {
		t.Fatalf("screenshot is %dx%d, want 1280x2000", b.Dx(), b.Dy())
	}

	// Not blank: the luminance varies, and there is text-dark ink.
	var sum, sumSq float64
	var n, dark, red int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			r8, g8, b8 := float64(r>>8), float64(g>>8), float64(bl>>8)
			l := 0.299*r8 + 0.587*g8 + 0.114*b8
			sum += l
			sumSq += l * l
			n++
			if l < 80 {
				dark++
			}
			// The error line, onset and error-rate bars are #d64545.
			if r8 > 180 && g8 < 110 && b8 < 110 {
				red++
			}
		}
	}
	mean := sum / float64(n)
	variance := sumSq/float64(n) - mean*mean
	if variance < 100 {
		t.Errorf("screenshot looks blank: luminance variance %.1f", variance)
	}
	if dark < 2000 {
		t.Errorf("screenshot has little text: %d dark pixels sampled", dark)
	}
	if red < 200 {
		t.Errorf("screenshot lacks the red error-rate chart: %d red pixels sampled", red)
	}
	t.Logf("luminance mean %.1f variance %.1f, dark %d, red %d", mean, variance, dark, red)

	if *updateScreenshot {
		writeDocScreenshot(t, img)
	}
}

// writeDocScreenshot saves the top of the page (header, timeline, tables)
// for docs/html-report.md.
func writeDocScreenshot(t *testing.T, img image.Image) {
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		t.Fatal("screenshot cannot be cropped")
	}
	top := sub.SubImage(image.Rect(0, 0, 1280, 1250))
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, top); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "img", "triage-report.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, b.Len())
}
