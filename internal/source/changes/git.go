package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// GitOptions configure ImportGit.
type GitOptions struct {
	// Service is the service the repository deploys (Change.Service).
	Service string
	// Scope is copied to every change (e.g. cluster=prod-eu).
	Scope map[string]string
	// Rev is the revision range to read (default HEAD), e.g. "main" or
	// "v1.2.0..HEAD".
	Rev string
	// Since and Until bound commit and tag times (zero: unbounded).
	Since, Until time.Time
	// Max bounds the number of commits read (default 500; tags are not
	// bounded by it).
	Max int
	// NoCommits and NoTags leave out commits or tags.
	NoCommits, NoTags bool
	// Git is the git binary (default "git" on PATH).
	Git string
}

const (
	fieldSep  = "\x1f"
	recordSep = "\x1e"
)

// ImportGit reads a git repository's history with the git binary and
// returns deploy candidates, sorted by time:
//
//   - every commit (git log, first parent included, merges too) at its
//     committer date — when it landed — with id git-<short sha>, actor the
//     author, details version (short sha), previous_version (short sha of its
//     first parent), sha, author, subject;
//   - every tag at its date (tagger date for annotated tags, commit date for
//     lightweight ones) with id git-tag-<tag>, details version (the tag),
//     previous_version (the tag before it by date), sha (of the commit it
//     names), author, subject.
//
// They are candidates: a commit is not a deploy until it is deployed, so
// triage weighs them by time and scope like any other change.
func ImportGit(ctx context.Context, repoPath string, opts GitOptions) ([]signal.Change, error) {
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.Max <= 0 {
		opts.Max = 500
	}
	if opts.Rev == "" {
		opts.Rev = "HEAD"
	}
	if strings.HasPrefix(opts.Rev, "-") {
		return nil, fmt.Errorf("git revision %q must not start with '-'", opts.Rev)
	}
	if _, err := runGit(ctx, opts.Git, repoPath, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("git repository %s: %w", repoPath, err)
	}
	var out []signal.Change
	if opts.Rev == "HEAD" {
		if _, err := runGit(ctx, opts.Git, repoPath, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
			opts.NoCommits = true // a repository without commits yet
		}
	}
	if !opts.NoCommits {
		c, err := gitCommits(ctx, repoPath, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	if !opts.NoTags {
		c, err := gitTags(ctx, repoPath, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func runGit(ctx context.Context, git, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, git, append([]string{"-C", dir, "-c", "log.showSignature=false", "-c", "core.quotepath=off"}, args...)...)
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(stderr.String()))
		}
		return nil, fmt.Errorf("run git: %w", err)
	}
	return b, nil
}

func inRange(t time.Time, opts GitOptions) bool {
	return (opts.Since.IsZero() || !t.Before(opts.Since)) && (opts.Until.IsZero() || !t.After(opts.Until))
}

func gitCommits(ctx context.Context, repo string, opts GitOptions) ([]signal.Change, error) {
	args := []string{"log", fmt.Sprintf("--max-count=%d", opts.Max),
		"--format=" + strings.Join([]string{"%H", "%h", "%p", "%cI", "%an", "%ae", "%s"}, fieldSep) + recordSep}
	if !opts.Since.IsZero() {
		args = append(args, "--since="+opts.Since.UTC().Format(time.RFC3339))
	}
	if !opts.Until.IsZero() {
		args = append(args, "--until="+opts.Until.UTC().Format(time.RFC3339))
	}
	args = append(args, opts.Rev, "--")
	b, err := runGit(ctx, opts.Git, repo, args...)
	if err != nil {
		return nil, fmt.Errorf("git log in %s: %w", repo, err)
	}
	var out []signal.Change
	for _, rec := range strings.Split(string(b), recordSep) {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.Split(rec, fieldSep)
		if len(f) != 7 {
			return nil, fmt.Errorf("git log in %s: unexpected record %q", repo, abbrev(rec, 80))
		}
		sha, short, parents, date, author, email, subject := f[0], f[1], f[2], f[3], f[4], f[5], f[6]
		t, err := time.Parse(time.RFC3339, date)
		if err != nil {
			return nil, fmt.Errorf("git log in %s: commit %s date %q: %w", repo, short, date, err)
		}
		if !inRange(t, opts) {
			continue
		}
		details := map[string]any{"version": short, "sha": sha, "author": author, "subject": subject}
		if email != "" {
			details["author_email"] = email
		}
		if p := strings.Fields(parents); len(p) > 0 {
			details["previous_version"] = shortOf(p[0], len(short))
			if len(p) > 1 {
				details["merge"] = true
			}
		}
		out = append(out, signal.Change{
			ID:      "git-" + short,
			Time:    t.UTC(),
			Kind:    signal.KindDeploy,
			Service: opts.Service,
			Summary: fmt.Sprintf("commit %s: %s", short, subject),
			Scope:   cloneScope(opts.Scope),
			Actor:   author,
			Details: details,
		})
	}
	return out, nil
}

func shortOf(sha string, n int) string {
	if n > 0 && len(sha) > n {
		return sha[:n]
	}
	return sha
}

func gitTags(ctx context.Context, repo string, opts GitOptions) ([]signal.Change, error) {
	format := strings.Join([]string{"%(refname:short)", "%(objectname)", "%(*objectname)",
		"%(creatordate:iso-strict)", "%(taggername)", "%(authorname)", "%(*authorname)",
		"%(contents:subject)", "%(*contents:subject)"}, fieldSep) + recordSep
	b, err := runGit(ctx, opts.Git, repo, "for-each-ref", "--sort=creatordate", "--format="+format, "refs/tags")
	if err != nil {
		return nil, fmt.Errorf("git tags in %s: %w", repo, err)
	}
	var out []signal.Change
	prev := ""
	for _, rec := range strings.Split(string(b), recordSep) {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.Split(rec, fieldSep)
		if len(f) != 9 {
			return nil, fmt.Errorf("git tags in %s: unexpected record %q", repo, abbrev(rec, 80))
		}
		tag, obj, peeled, date := f[0], f[1], f[2], f[3]
		author := firstNonEmpty(f[4], f[6], f[5])
		subject := f[7]
		sha := obj
		if peeled != "" { // annotated tag: the commit it points at
			sha = peeled
			if subject == "" {
				subject = f[8]
			}
		}
		t, err := time.Parse(time.RFC3339, date)
		if err != nil {
			return nil, fmt.Errorf("git tags in %s: tag %s date %q: %w", repo, tag, date, err)
		}
		previous := prev
		prev = tag
		if !inRange(t, opts) {
			continue
		}
		details := map[string]any{"version": tag, "sha": sha, "tag": tag}
		if previous != "" {
			details["previous_version"] = previous
		}
		if author != "" {
			details["author"] = author
		}
		if subject != "" {
			details["subject"] = subject
		}
		summary := fmt.Sprintf("tag %s (%s)", tag, shortOf(sha, 7))
		if subject != "" {
			summary += ": " + subject
		}
		out = append(out, signal.Change{
			ID:      "git-tag-" + tag,
			Time:    t.UTC(),
			Kind:    signal.KindDeploy,
			Service: opts.Service,
			Summary: summary,
			Scope:   cloneScope(opts.Scope),
			Actor:   author,
			Details: details,
		})
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func cloneScope(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
