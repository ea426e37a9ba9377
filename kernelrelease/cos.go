package kernelrelease

// cos (Container-Optimized OS): names are generic (releases such as
// 5.15.146+ keep their '+'); kernel modules cannot be loaded, so kmod is
// never chosen. BUILD_ID only matters for fetching headers to compile.
type cos struct{}

func (cos) name() string { return "cos" }

func (cos) targetID(OS, Release) string { return "cos" }

func (cos) fixup(t *Target, os OS) {
	t.KmodVeto = "COS does not allow loading kernel modules"
	if os.BuildID == "" {
		t.Notes = append(t.Notes, "cos: os-release has no BUILD_ID: compiling (which needs COS's kernel headers) will not work")
	}
}
