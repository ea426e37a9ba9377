package kernelrelease

// amazonLinux (os-release ID amzn): the target ID depends on VERSION_ID:
// 2 → amazonlinux2, 2022 → amazonlinux2022, 2023 → amazonlinux2023,
// anything else (2018.03, ...) → amazonlinux.
type amazonLinux struct{}

func (amazonLinux) name() string { return "amazonlinux" }

func (amazonLinux) targetID(os OS, _ Release) string {
	switch os.VersionID {
	case "2", "2022", "2023":
		return "amazonlinux" + os.VersionID
	}
	return "amazonlinux"
}

func (amazonLinux) fixup(*Target, OS) {}
