package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

// deployRepoFile is the path of a file in the repository from this package.
func deployRepoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", ".."}, parts...)...)
}

// deployEnv is what the deployment examples read from their environment
// (a Kubernetes Secret, a systemd EnvironmentFile, podman run -e).
var deployEnv = map[string]string{"OPENAI_API_KEY": "sk-deploy-test", "VK_WEB": "vk-deploy-test"}

// runDeployCheck runs realtimesecretd -config path -check with vars, and returns its
// exit code and output.
func runDeployCheck(t *testing.T, path string, vars map[string]string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := sidecar.Run(context.Background(), []string{"-config", path, "-check"}, env(vars), &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// checkDeployConfig asserts that the config at path passes -check with the
// deployment's variables, and fails without each of them.
func checkDeployConfig(t *testing.T, path string) {
	t.Helper()
	code, out := runDeployCheck(t, path, deployEnv)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "OK")
	for name := range deployEnv {
		vars := map[string]string{}
		for k, v := range deployEnv {
			if k != name {
				vars[k] = v
			}
		}
		code, out := runDeployCheck(t, path, vars)
		assert.Equal(t, 1, code, "without %s", name)
		assert.Contains(t, out, name, "the error names the missing variable")
	}
}

type deployK8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name            string   `yaml:"name"`
					Args            []string `yaml:"args"`
					SecurityContext struct {
						RunAsUser int `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// The Kubernetes example: the sidecar container reads the ConfigMap's
// config.yaml where the manifest mounts it, and that config passes -check.
func TestDeployKubernetes(t *testing.T) {
	raw, err := os.ReadFile(deployRepoFile("testdata", "deploy", "kubernetes.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	objects := map[string]deployK8sObject{}
	for {
		var o deployK8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		objects[o.Kind] = o
	}
	require.Contains(t, objects, "ConfigMap")
	require.Contains(t, objects, "Deployment")
	cm := objects["ConfigMap"]
	config, ok := cm.Data["config.yaml"]
	require.True(t, ok, "the ConfigMap holds config.yaml")

	pod := objects["Deployment"].Spec.Template.Spec
	var configPath string
	found := false
	for _, c := range pod.Containers {
		if c.Name != "realtimesecretd" {
			continue
		}
		found = true
		require.Len(t, c.Args, 2)
		assert.Equal(t, "-config", c.Args[0])
		configPath = c.Args[1]
		assert.Equal(t, 65532, c.SecurityContext.RunAsUser, "the image's non-root user")
		mounted := false
		for _, m := range c.VolumeMounts {
			for _, v := range pod.Volumes {
				if v.Name == m.Name && v.ConfigMap.Name == cm.Metadata.Name && m.MountPath+"/config.yaml" == configPath {
					mounted = true
				}
			}
		}
		assert.True(t, mounted, "%s is the ConfigMap's config.yaml as mounted", configPath)
	}
	require.True(t, found, "a realtimesecretd sidecar container")
	assert.Equal(t, "/etc/realtimesecretd/config.yaml", configPath, "the image's default config path")

	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	checkDeployConfig(t, path)
}

// The systemd example: the unit checks and runs the config it installs,
// and that config passes -check.
func TestDeploySystemd(t *testing.T) {
	f, err := os.Open(deployRepoFile("testdata", "deploy", "realtimesecretd.service"))
	require.NoError(t, err)
	defer f.Close()
	directives := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			directives[k] = v
		}
	}
	require.NoError(t, sc.Err())
	const cmd = "/usr/local/bin/realtimesecretd -config /etc/realtimesecretd/config.yaml"
	assert.Equal(t, cmd, directives["ExecStart"])
	assert.Equal(t, cmd+" -check", directives["ExecStartPre"], "the host checks the config before each start")
	assert.Equal(t, "SIGTERM", directives["KillSignal"], "SIGTERM drains")
	assert.Equal(t, "/bin/kill -HUP $MAINPID", directives["ExecReload"], "systemctl reload: SIGHUP reloads the config")
	assert.Equal(t, "yes", directives["DynamicUser"], "never root")
	assert.Equal(t, "/etc/realtimesecretd/env", directives["EnvironmentFile"], "keys come from the environment file")

	checkDeployConfig(t, deployRepoFile("testdata", "deploy", "realtimesecretd.yaml"))
}

// The container image's default config (container/config.yaml, at
// /etc/realtimesecretd/config.yaml in the image): with a provider key it
// needs a virtual key of its own; without one it runs the demo, so the
// image can be tried without a key.
func TestDeployContainerConfig(t *testing.T) {
	path := deployRepoFile("container", "config.yaml")
	tests := []struct {
		name string
		vars map[string]string
		code int
		want []string
		demo bool
	}{
		{name: "keys set", vars: deployEnv, want: []string{"OK"}},
		{name: "no key: the demo", vars: nil, want: []string{"OK", "demo mode: openai"}, demo: true},
		{name: "a virtual key of one's own, no provider key: the demo", vars: map[string]string{"VK_WEB": "vk-deploy-test"},
			want: []string{"OK", "demo mode: openai"}, demo: true},
		{name: "a provider key and the published virtual key", vars: map[string]string{"OPENAI_API_KEY": "sk-deploy-test"}, code: 1,
			want: []string{"virtual_keys[0].value (web): value is the published demo key", "set VK_WEB"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runDeployCheck(t, path, tc.vars)
			require.Equal(t, tc.code, code, out)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			if !tc.demo {
				assert.NotContains(t, out, "demo mode:")
			}
			assert.NotContains(t, out, "sk-deploy-test")
		})
	}
}
