import Testing
@testable import ReinsNN

@Suite("choosing OpenBLAS's kernel")
struct BLASKernelTests {
    /// CPUs seen on machines of this kind, as CPUID reports them.
    static let sapphireXeon = CPUFeatures(vendor: "GenuineIntel", brand: "Intel(R) Xeon(R) Platinum", family: 6, model: 207,
                                          avx: true, avx2: true, fma: true, avx512: true)
    static let zen4 = CPUFeatures(vendor: "AuthenticAMD", brand: "AMD EPYC", family: 25, model: 17, avx: true, avx2: true, fma: true, avx512: true)
    static let haswellLaptop = CPUFeatures(vendor: "GenuineIntel", brand: "Intel(R) Core(TM) i7-4600U", family: 6, model: 69,
                                           avx: true, avx2: true, fma: true, avx512: false)
    static let oldAtom = CPUFeatures(vendor: "GenuineIntel", brand: "Intel(R) Atom(TM) D525", family: 6, model: 28,
                                     avx: false, avx2: false, fma: false, avx512: false)

    @Test("a generic kernel on a CPU with AVX2 and FMA is replaced: SkylakeX's after a probe where AVX-512 is there, else Haswell's")
    func genericReplaced() {
        #expect(BLASKernel.plan(environment: [:], core: "Prescott", cpu: Self.sapphireXeon) == .probe(wider: "SkylakeX", fallback: "Haswell"))
        for generic in ["Prescott", "Katmai", "Core2", "Nehalem", "Banias", "Penryn", "Atom", "Opteron_SSE3"] {
            #expect(BLASKernel.plan(environment: [:], core: generic, cpu: Self.haswellLaptop) == .choose("Haswell"))
        }
    }

    @Test("a kernel OpenBLAS knows for the CPU is kept, and so is a generic one on a CPU without AVX2")
    func knownKept() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Sandybridge"] {
            #expect(BLASKernel.plan(environment: [:], core: core, cpu: Self.zen4) == .keep(.openblas))
        }
        #expect(BLASKernel.plan(environment: [:], core: "Atom", cpu: Self.oldAtom) == .keep(.openblas))
        // A CPU with AVX2 but no FMA (some VIA and early Zhaoxin parts) runs no Haswell kernel.
        var noFMA = Self.haswellLaptop
        noFMA.fma = false
        #expect(BLASKernel.plan(environment: [:], core: "Prescott", cpu: noFMA) == .keep(.openblas))
    }

    @Test("OPENBLAS_CORETYPE is honoured, even when generic; Reins' own setting is told apart by its marker")
    func environmentHonoured() {
        #expect(BLASKernel.plan(environment: ["OPENBLAS_CORETYPE": "Haswell"], core: "Haswell", cpu: Self.zen4) == .keep(.environment))
        #expect(BLASKernel.plan(environment: ["OPENBLAS_CORETYPE": "Prescott"], core: "Prescott", cpu: Self.sapphireXeon) == .keep(.environment))
        let chosen = ["OPENBLAS_CORETYPE": "SkylakeX", BLASKernel.chosenMarker: "SkylakeX"]
        #expect(BLASKernel.plan(environment: chosen, core: "SkylakeX", cpu: Self.sapphireXeon) == .keep(.reins))
        #expect(BLASKernel.source(environment: chosen) == .reins)
        #expect(BLASKernel.source(environment: ["OPENBLAS_CORETYPE": "Haswell", BLASKernel.chosenMarker: "SkylakeX"]) == .environment)
        #expect(BLASKernel.source(environment: [:]) == .openblas)
    }

    @Test("--native-kernel keeps whatever OpenBLAS picked")
    func nativeKept() {
        #expect(BLASKernel.plan(environment: [BLASKernel.nativeMarker: "1"], core: "Prescott", cpu: Self.sapphireXeon) == .keep(.openblas))
    }

    @Test("this machine's CPUID reads as a CPU, and the loaded kernel multiplies as the reference does")
    func thisMachine() {
        let cpu = CPUFeatures.current()
        #expect(!cpu.vendor.isEmpty && cpu.family > 0)
        #expect(!cpu.avx2 || cpu.avx)
        #expect(BLASKernel.agreesWithReference(expected: BLAS.coreName))
        #expect(!BLASKernel.agreesWithReference(expected: "NoSuchCore"))
    }
}
