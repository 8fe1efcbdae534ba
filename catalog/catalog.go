// Package catalog names the models and sample photos wanwu knows, and provisions them: cache, mirror, upstream.
package catalog

import (
	"fmt"
	"sort"
)

// coralTestData is the upstream of the built-in models and sample photos (Apache-2.0), pinned to a commit
// so the sha256 sums below stay valid.
const coralTestData = "https://github.com/google-coral/test_data/raw/104342d2d3480b3e66203073dac24f4e2dbb4c41/"

// Preprocess says how a catalog model wants its photo: the whole image resized to Size×Size
// ("stretch", what the Coral pipelines do) or the shorter side resized then center-cropped, with
// "bilinear" or "antialias" interpolation (see imageio.Preprocess).
type Preprocess struct {
	Resize string     `json:"resize"`
	Filter string     `json:"filter"`
	Mean   [3]float32 `json:"mean"`
	Std    [3]float32 `json:"std"`
}

// Entry is a downloadable file with a pinned checksum.
type Entry struct {
	Name   string // catalog name (also the cached file's base name, without extension)
	File   string // file name upstream and in the cache/mirror
	URL    string
	SHA256 string
	Size   int64 // bytes, for the progress bar and a quick sanity check
	// Model-only fields.
	Description string
	InputSize   int    // square input side
	Labels      string // "imagenet1001": index 0 = background, then the 1000 ImageNet classes
	Preprocess  Preprocess
}

// DefaultModel is what `wanwu classify` uses without --model.
const DefaultModel = "mobilenet_v2_1.0_224_quant"

// Coral's pipelines resize the whole photo with plain bilinear interpolation (no antialiasing).
var stretch = Preprocess{Resize: "stretch", Filter: "bilinear", Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}

var models = []Entry{
	{Name: "mobilenet_v2_1.0_224_quant", File: "mobilenet_v2_1.0_224_quant.tflite",
		SHA256: "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776", Size: 3610798,
		Description: "MobileNetV2 1.0, 224×224, uint8 per-tensor (TF1 quantization-aware)",
		InputSize:   224, Labels: "imagenet1001", Preprocess: stretch},
	{Name: "tf2_mobilenet_v2_1.0_224_ptq", File: "tf2_mobilenet_v2_1.0_224_ptq.tflite",
		SHA256: "5d3137241276e79c86d14a74fe43581398ae0e815191d3dba45495b810840e8c", Size: 4070174,
		Description: "MobileNetV2 1.0, 224×224, int8 per-channel weights (TF2 post-training)",
		InputSize:   224, Labels: "imagenet1001", Preprocess: stretch},
	{Name: "mobilenet_v1_0.5_160_quant", File: "mobilenet_v1_0.5_160_quant.tflite",
		SHA256: "3cc6d2ca460abd2e0f699a6d0d2550c6b61c6e3b0e27a3616e384ea74cb86f43", Size: 1392846,
		Description: "MobileNetV1 0.5, 160×160, uint8",
		InputSize:   160, Labels: "imagenet1001", Preprocess: stretch},
	{Name: "mobilenet_v1_0.25_128_quant", File: "mobilenet_v1_0.25_128_quant.tflite",
		SHA256: "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785", Size: 525598,
		Description: "MobileNetV1 0.25, 128×128, uint8 (tiny)",
		InputSize:   128, Labels: "imagenet1001", Preprocess: stretch},
}

var samples = []Entry{
	{Name: "parrot", File: "parrot.jpg", SHA256: "a8fba9e7e29439fa414c13129aad661f2289ff891231920a7c33641b076f1833", Size: 596977},
	{Name: "cat", File: "cat.bmp", SHA256: "34f235786382686111728287fd26d4c24dd8c25de8233469d6eeb301888ce0a9", Size: 523914},
	{Name: "grace_hopper", File: "grace_hopper.bmp", SHA256: "c43444bf3b1b1e3080551ca194bd231da4b67f20fc91454502915a6b806b614f", Size: 921738},
	{Name: "hot_dog", File: "hot_dog.jpg", SHA256: "ed6952e022eb71c0d0b1ff068dcee3abed056dfa1852f041c35f138c4ff15b2e", Size: 200930},
}

func init() {
	for i := range models {
		models[i].URL = coralTestData + models[i].File
	}
	for i := range samples {
		samples[i].URL = coralTestData + samples[i].File
	}
}

// Models lists the catalog models, sorted by name.
func Models() []Entry {
	out := append([]Entry(nil), models...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Samples lists the sample photos.
func Samples() []Entry { return append([]Entry(nil), samples...) }

// Model finds a catalog model by name (with or without the .tflite extension).
func Model(name string) (Entry, error) {
	for _, m := range models {
		if m.Name == name || m.File == name {
			return m, nil
		}
	}
	return Entry{}, fmt.Errorf("catalog: no model named %q (see `wanwu models`)", name)
}

// Sample finds a sample photo by name.
func Sample(name string) (Entry, error) {
	for _, s := range samples {
		if s.Name == name || s.File == name {
			return s, nil
		}
	}
	return Entry{}, fmt.Errorf("catalog: no sample photo named %q", name)
}
