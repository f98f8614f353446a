package changes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// K8sOptions configure ImportK8s.
type K8sOptions struct {
	// Service overrides Change.Service (default: the Deployment's name).
	Service string
	// Scope is added to every change's scope (which always holds namespace
	// and deployment), e.g. cluster=prod-eu.
	Scope map[string]string
	// Deployment, when set, keeps only that Deployment's revisions.
	Deployment string
}

const (
	annRevision        = "deployment.kubernetes.io/revision"
	annRevisionHistory = "deployment.kubernetes.io/revision-history"
	annChangeCause     = "kubernetes.io/change-cause"
	maxK8sInput        = 256 << 20
)

type k8sObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
		Annotations       map[string]string `json:"annotations"`
		Labels            map[string]string `json:"labels"`
		OwnerReferences   []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"ownerReferences"`
		ManagedFields []struct {
			Time time.Time `json:"time"`
		} `json:"managedFields"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int `json:"replicas"`
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Containers []struct {
					Name  string `json:"name"`
					Image string `json:"image"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type           string    `json:"type"`
			Reason         string    `json:"reason"`
			LastUpdateTime time.Time `json:"lastUpdateTime"`
		} `json:"conditions"`
	} `json:"status"`
	Items []json.RawMessage `json:"items"`
}

// revision is one rollout revision of a Deployment.
type revision struct {
	namespace, deployment string
	number                int
	at                    time.Time
	timeSource            string
	images                []string // name=image
	version               string
	hash                  string
	replicas              *int
	rollbackOf            []int // earlier revision numbers this template had
	rsName                string
	changeCause           string // kubernetes.io/change-cause, when recorded
}

// ImportK8s reads the JSON of `kubectl get replicasets -o json` (a List of
// ReplicaSets), or a single ReplicaSet or Deployment object, and returns one
// deploy change per Deployment revision, sorted by time:
//
//   - id k8s-<namespace>-<deployment>-rev<N>; time the ReplicaSet's
//     creationTimestamp (when that revision rolled out);
//   - details version (the image tag of the first container), previous_version
//     (the version of the revision before), revision, images, replicaset,
//     pod_template_hash and pod_prefix (<deployment>-<hash>: the pods'
//     names start with it), change_cause (kubernetes.io/change-cause);
//   - scope namespace and deployment.
//
// A ReplicaSet whose template came back (its revision-history annotation
// lists earlier revisions) is a rollback: Kubernetes reuses the old
// ReplicaSet, so those earlier revisions become deploys at the creation time
// and the current one a rollback at the latest managedFields time when the
// object carries them (kubectl --show-managed-fields), else the creation
// time (details time_source says which). A single Deployment (also what
// `kubectl rollout history deployment/NAME -o json` prints) gives its current
// revision at the Progressing condition's lastUpdateTime.
func ImportK8s(r io.Reader, opts K8sOptions) ([]signal.Change, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxK8sInput+1))
	if err != nil {
		return nil, fmt.Errorf("read kubernetes json: %w", err)
	}
	if len(b) > maxK8sInput {
		return nil, fmt.Errorf("kubernetes json is larger than %d MiB", maxK8sInput>>20)
	}
	var top k8sObject
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("kubernetes json: %w (want the output of kubectl get replicasets -o json)", err)
	}
	var objs []k8sObject
	switch {
	case top.Kind == "List" || strings.HasSuffix(top.Kind, "List"):
		for i, raw := range top.Items {
			var o k8sObject
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("kubernetes json: items[%d]: %w", i, err)
			}
			if o.Kind == "" { // typed lists (ReplicaSetList) may omit item kinds
				o.Kind = strings.TrimSuffix(top.Kind, "List")
			}
			objs = append(objs, o)
		}
	case top.Kind == "ReplicaSet" || top.Kind == "Deployment":
		objs = []k8sObject{top}
	case top.Kind == "":
		return nil, errors.New(`kubernetes json: field "kind" is missing (want a List, ReplicaSet or Deployment)`)
	default:
		return nil, fmt.Errorf("kubernetes json: kind %q is not supported (want a List of ReplicaSets, a ReplicaSet or a Deployment)", top.Kind)
	}

	var revs []revision
	fromRS := map[string]bool{} // namespace/deployment seen via ReplicaSets
	var deployments []k8sObject
	for i, o := range objs {
		switch o.Kind {
		case "ReplicaSet":
			rs, err := rsRevisions(o)
			if err != nil {
				return nil, fmt.Errorf("kubernetes json: item %d (replicaset %s): %w", i, o.Metadata.Name, err)
			}
			for _, r := range rs {
				fromRS[r.namespace+"/"+r.deployment] = true
			}
			revs = append(revs, rs...)
		case "Deployment":
			deployments = append(deployments, o)
		}
	}
	for _, d := range deployments {
		if fromRS[d.Metadata.Namespace+"/"+d.Metadata.Name] {
			continue // the ReplicaSets tell the whole history
		}
		r, err := deploymentRevision(d)
		if err != nil {
			return nil, fmt.Errorf("kubernetes json: deployment %s: %w", d.Metadata.Name, err)
		}
		revs = append(revs, r)
	}
	if opts.Deployment != "" {
		kept := revs[:0]
		for _, r := range revs {
			if r.deployment == opts.Deployment {
				kept = append(kept, r)
			}
		}
		revs = kept
	}
	return revisionChanges(revs, opts), nil
}

func rsRevisions(o k8sObject) ([]revision, error) {
	ann := o.Metadata.Annotations
	revStr, ok := ann[annRevision]
	if !ok {
		return nil, nil // not managed by a Deployment
	}
	n, err := strconv.Atoi(revStr)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("annotation %s=%q is not a revision number", annRevision, revStr)
	}
	if o.Metadata.CreationTimestamp.IsZero() {
		return nil, errors.New("metadata.creationTimestamp is missing")
	}
	dep := ""
	for _, or := range o.Metadata.OwnerReferences {
		if or.Kind == "Deployment" {
			dep = or.Name
		}
	}
	hash := o.Metadata.Labels["pod-template-hash"]
	if dep == "" {
		dep = strings.TrimSuffix(o.Metadata.Name, "-"+hash)
	}
	base := revision{
		namespace: o.Metadata.Namespace, deployment: dep, number: n,
		at: o.Metadata.CreationTimestamp, timeSource: "creationTimestamp",
		hash: hash, replicas: o.Spec.Replicas, rsName: o.Metadata.Name,
		changeCause: ann[annChangeCause],
	}
	base.images, base.version = images(o)
	var out []revision
	if h := ann[annRevisionHistory]; h != "" {
		for _, s := range strings.Split(h, ",") {
			old, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("annotation %s=%q: %q is not a revision number", annRevisionHistory, h, s)
			}
			r := base
			r.number = old
			r.replicas = nil
			out = append(out, r)
			base.rollbackOf = append(base.rollbackOf, old)
		}
		var latest time.Time
		for _, mf := range o.Metadata.ManagedFields {
			if mf.Time.After(latest) {
				latest = mf.Time
			}
		}
		if latest.After(base.at) {
			base.at, base.timeSource = latest, "managedFields"
		}
	}
	return append(out, base), nil
}

func deploymentRevision(o k8sObject) (revision, error) {
	r := revision{namespace: o.Metadata.Namespace, deployment: o.Metadata.Name,
		at: o.Metadata.CreationTimestamp, timeSource: "creationTimestamp", replicas: o.Spec.Replicas,
		changeCause: o.Metadata.Annotations[annChangeCause]}
	if s, ok := o.Metadata.Annotations[annRevision]; ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			return r, fmt.Errorf("annotation %s=%q is not a revision number", annRevision, s)
		}
		r.number = n
	}
	for _, c := range o.Status.Conditions {
		if c.Type == "Progressing" && !c.LastUpdateTime.IsZero() {
			r.at, r.timeSource = c.LastUpdateTime, "Progressing condition"
		}
	}
	if r.at.IsZero() {
		return r, errors.New("neither metadata.creationTimestamp nor a Progressing condition gives a time")
	}
	r.images, r.version = images(o)
	return r, nil
}

func images(o k8sObject) ([]string, string) {
	var imgs []string
	version := ""
	for _, c := range o.Spec.Template.Spec.Containers {
		imgs = append(imgs, c.Name+"="+c.Image)
		if version == "" {
			version = ImageVersion(c.Image)
		}
	}
	return imgs, version
}

// ImageVersion returns the version an image reference names: its tag
// (registry:5000/shop/api:v1.4.2 → v1.4.2), else its digest shortened to
// sha256:<12 hex>, else "latest".
func ImageVersion(image string) string {
	name, digest, _ := strings.Cut(image, "@")
	slash := strings.LastIndexByte(name, '/')
	if colon := strings.LastIndexByte(name, ':'); colon > slash && colon+1 < len(name) {
		return name[colon+1:]
	}
	if digest != "" {
		if len(digest) > len("sha256:")+12 {
			return digest[:len("sha256:")+12]
		}
		return digest
	}
	return "latest"
}

func revisionChanges(revs []revision, opts K8sOptions) []signal.Change {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		if a.deployment != b.deployment {
			return a.deployment < b.deployment
		}
		return a.number < b.number
	})
	var out []signal.Change
	for i, r := range revs {
		prev := ""
		if i > 0 && revs[i-1].namespace == r.namespace && revs[i-1].deployment == r.deployment {
			prev = revs[i-1].version
		}
		kind := signal.KindDeploy
		if len(r.rollbackOf) > 0 {
			kind = signal.KindRollback
		}
		details := map[string]any{
			"version":     r.version,
			"revision":    r.number,
			"time_source": r.timeSource,
		}
		if prev != "" {
			details["previous_version"] = prev
		}
		if len(r.images) > 0 {
			details["images"] = r.images
		}
		if r.rsName != "" {
			details["replicaset"] = r.rsName
		}
		if r.hash != "" {
			details["pod_template_hash"] = r.hash
			details["pod_prefix"] = r.deployment + "-" + r.hash
		}
		if r.replicas != nil {
			details["replicas"] = *r.replicas
		}
		if len(r.rollbackOf) > 0 {
			details["rollback_of_revisions"] = r.rollbackOf
		}
		if r.changeCause != "" {
			details["change_cause"] = r.changeCause
		}
		scope := cloneScope(opts.Scope)
		if scope == nil {
			scope = map[string]string{}
		}
		if r.namespace != "" {
			scope["namespace"] = r.namespace
		}
		scope["deployment"] = r.deployment
		service := opts.Service
		if service == "" {
			service = r.deployment
		}
		verb := "rolled out"
		if kind == signal.KindRollback {
			verb = "rolled back to"
		}
		summary := fmt.Sprintf("deployment %s %s revision %d (%s)", r.deployment, verb, r.number, r.version)
		if prev != "" && prev != r.version {
			summary = fmt.Sprintf("deployment %s %s revision %d: %s → %s", r.deployment, verb, r.number, prev, r.version)
		}
		ns := r.namespace
		if ns == "" {
			ns = "default"
		}
		out = append(out, signal.Change{
			ID:      fmt.Sprintf("k8s-%s-%s-rev%d", ns, r.deployment, r.number),
			Time:    r.at.UTC(),
			Kind:    kind,
			Service: service,
			Summary: summary,
			Scope:   scope,
			Details: details,
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
