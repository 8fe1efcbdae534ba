package wanwu

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wanwu-ai/wanwu/internal/userfile"
)

// sidecarPath is the JSON file beside a model that describes it: <model>.json.
func sidecarPath(model string) string {
	return strings.TrimSuffix(model, filepath.Ext(model)) + ".json"
}

// sidecar is what Load reads from a model's sidecar: its preprocessing (imageio.LoadConfig) and labels.
type sidecar struct {
	Preprocess *json.RawMessage `json:"preprocess"`
	Labels     json.RawMessage  `json:"labels"` // a JSON label list (labels.Parse): array, or index -> name
}

// maxSidecarBytes bounds a sidecar: a preprocess section and up to labels.MaxLabels names.
const maxSidecarBytes = 32 << 20

// readSidecar reads the sidecar at path; none there is the zero sidecar.
func readSidecar(path string) (sidecar, error) {
	var sc sidecar
	if _, err := os.Stat(path); err != nil {
		return sc, nil
	}
	data, err := userfile.ReadFile(path, maxSidecarBytes, "a model sidecar", userfile.CheckText)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}
