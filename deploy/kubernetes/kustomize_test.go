package kubernetes_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/scheme"
	sigyaml "sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's format these manifests use:
// resources (files or folders with a kustomization), strategic-merge
// patches by path, and a namespace. The tests apply the manifests with it
// so that they need no kubectl; TestKustomizationSubset keeps the files
// inside that part.
type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Patches    []struct {
		Path string `yaml:"path"`
	} `yaml:"patches"`
}

// build returns the objects of the kustomization in dir, patched.
func build(dir string) ([]runtime.Object, error) {
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k kustomization
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a field this subset does not know fails
	if err := dec.Decode(&k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	var objs []runtime.Object
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			sub, err := build(p)
			if err != nil {
				return nil, err
			}
			objs = append(objs, sub...)
			continue
		}
		docs, err := decodeFile(p)
		if err != nil {
			return nil, err
		}
		objs = append(objs, docs...)
	}
	for _, pt := range k.Patches {
		b, err := os.ReadFile(filepath.Join(dir, pt.Path))
		if err != nil {
			return nil, err
		}
		for _, doc := range splitDocs(b) {
			if err := applyPatch(objs, doc); err != nil {
				return nil, fmt.Errorf("%s: %w", pt.Path, err)
			}
		}
	}
	if k.Namespace != "" {
		for _, o := range objs {
			if _, ok := o.(*corev1.Namespace); !ok {
				o.(interface{ SetNamespace(string) }).SetNamespace(k.Namespace)
			}
		}
	}
	return objs, nil
}

func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func decodeFile(p string) ([]runtime.Object, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var objs []runtime.Object
	for _, d := range splitDocs(b) {
		o, _, err := scheme.Codecs.UniversalDeserializer().Decode(d, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// applyPatch applies one strategic-merge patch document to the object of
// the same kind and name.
func applyPatch(objs []runtime.Object, doc []byte) error {
	patch, err := sigyaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigyaml.Unmarshal(patch, &meta); err != nil {
		return err
	}
	for i, o := range objs {
		var schema any
		switch v := o.(type) {
		case *appsv1.DaemonSet:
			if meta.Kind != "DaemonSet" || v.Name != meta.Metadata.Name {
				continue
			}
			schema = &appsv1.DaemonSet{}
		case *corev1.ConfigMap:
			if meta.Kind != "ConfigMap" || v.Name != meta.Metadata.Name {
				continue
			}
			schema = &corev1.ConfigMap{}
		default:
			continue
		}
		orig, err := sigyaml.Marshal(o)
		if err != nil {
			return err
		}
		if orig, err = sigyaml.YAMLToJSON(orig); err != nil {
			return err
		}
		merged, err := strategicpatch.StrategicMergePatch(orig, patch, schema)
		if err != nil {
			return fmt.Errorf("patch %s %s: %w", meta.Kind, meta.Metadata.Name, err)
		}
		n, _, err := scheme.Codecs.UniversalDeserializer().Decode(merged, nil, nil)
		if err != nil {
			return err
		}
		objs[i] = n
		return nil
	}
	return fmt.Errorf("patch %s %s: no such object", meta.Kind, strings.TrimSpace(meta.Metadata.Name))
}
