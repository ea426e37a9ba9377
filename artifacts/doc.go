// Package artifacts names driver artifacts and moves them: the Store
// interface with HTTP (Falco layout), OCI and file implementations, the
// verified cache, the index, and publishing.
package artifacts
