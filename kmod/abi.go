package kmod

import "unsafe"

// These mirror kmod/src/kd_ioctl.h; TestABI keeps them in step.
const (
	// DeviceName is the misc device the module creates (/dev/kdriver).
	DeviceName = "kdriver"
	// ModuleName is the name the module registers with the kernel.
	ModuleName = "kdriver"

	recordAlign     = 8
	syscallMaskBits = 1024
	iocMagic        = 0xd7
)

type kdVersion struct {
	Major uint32
	Minor uint32
}

type kdGeometry struct {
	NCPUs    uint32
	InfoSize uint32
	BufSize  uint64
	Span     uint64
	Possible [16]uint64
}

// ring info page offsets (struct kd_ring_info)
const (
	infoHead       = 0
	infoTail       = 8
	infoEvents     = 16
	infoDrops      = 24
	infoDropsFault = 32
	infoBufSize    = 40
	infoCPU        = 48
)

type kdMask struct {
	Bits [syscallMaskBits / 64]uint64
}

// Linux ioctl requests (_IOC encoding, the same on x86_64 and arm64).
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocAPIVersion    = iocRead<<30 | unsafe.Sizeof(kdVersion{})<<16 | iocMagic<<8 | 1
	iocSchemaVersion = iocRead<<30 | 4<<16 | iocMagic<<8 | 2
	iocGeometry      = iocRead<<30 | unsafe.Sizeof(kdGeometry{})<<16 | iocMagic<<8 | 3
	iocStart         = iocNone<<30 | iocMagic<<8 | 4
	iocStop          = iocNone<<30 | iocMagic<<8 | 5
	iocSetMask       = iocWrite<<30 | unsafe.Sizeof(kdMask{})<<16 | iocMagic<<8 | 6
)
