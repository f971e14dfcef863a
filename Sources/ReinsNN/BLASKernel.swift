import CBLAS

/// What this CPU can run, from CPUID, with the operating system's saved-state check: a vector
/// extension counts only when the OS saves its registers.
public struct CPUFeatures: Sendable, Equatable {
    public var vendor: String
    public var brand: String
    public var family: Int
    public var model: Int
    public var avx: Bool
    public var avx2: Bool
    public var fma: Bool
    /// AVX-512 F, BW, DQ and VL: what OpenBLAS's SkylakeX kernels use.
    public var avx512: Bool

    public init(vendor: String, brand: String, family: Int, model: Int, avx: Bool, avx2: Bool, fma: Bool, avx512: Bool) {
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.avx = avx
        self.avx2 = avx2
        self.fma = fma
        self.avx512 = avx512
    }

    /// This machine's CPU.
    public static func current() -> CPUFeatures {
        func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> [UInt32] {
            var registers = [UInt32](repeating: 0, count: 4)
            registers.withUnsafeMutableBufferPointer { reins_cpuid(leaf, subleaf, $0.baseAddress) }
            return registers
        }
        func text(_ words: [UInt32]) -> String {
            let bytes = words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
            let characters = bytes.prefix { $0 != 0 }.drop { $0 == 0x20 }
            return String(decoding: characters.reversed().drop { $0 == 0x20 }.reversed(), as: UTF8.self)
        }
        let zero = cpuid(0), one = cpuid(1), seven = cpuid(7)
        let vendor = text([zero[1], zero[3], zero[2]])
        let extended = cpuid(0x8000_0000)[0]
        let brand = extended >= 0x8000_0004 ? text((0x8000_0002...0x8000_0004).flatMap { cpuid(UInt32($0)) }) : ""
        let baseFamily = Int((one[0] >> 8) & 0xF), baseModel = Int((one[0] >> 4) & 0xF)
        let family = baseFamily == 0xF ? baseFamily + Int((one[0] >> 20) & 0xFF) : baseFamily
        let model = baseFamily == 0x6 || baseFamily == 0xF ? baseModel | Int((one[0] >> 12) & 0xF0) : baseModel
        func bit(_ register: UInt32, _ index: UInt32) -> Bool { (register >> index) & 1 == 1 }
        let osSaves = bit(one[2], 27) ? reins_xgetbv0() : 0
        let ymm = osSaves & 0b110 == 0b110, zmm = ymm && osSaves & 0b1110_0000 == 0b1110_0000
        let avx = ymm && bit(one[2], 28)
        return CPUFeatures(vendor: vendor, brand: brand, family: family, model: model, avx: avx,
                           avx2: avx && bit(seven[1], 5), fma: avx && bit(one[2], 12),
                           avx512: zmm && bit(seven[1], 16) && bit(seven[1], 17) && bit(seven[1], 30) && bit(seven[1], 31))
    }

    /// "AMD EPYC (AuthenticAMD family 26 model 2): AVX2 FMA AVX-512".
    public var summary: String {
        let extensions = [(avx, "AVX"), (avx2, "AVX2"), (fma, "FMA"), (avx512, "AVX-512")].filter(\.0).map(\.1)
        return "\(brand.isEmpty ? vendor : brand) (\(vendor) family \(family) model \(model)): "
            + (extensions.isEmpty ? "no AVX" : extensions.joined(separator: " "))
    }
}

/// Who chose the kernel OpenBLAS runs.
public enum BLASKernelSource: String, Sendable, Encodable {
    /// OpenBLAS, from what it knows of the CPU.
    case openblas
    /// Reins, because OpenBLAS fell back to a generic kernel on a CPU that runs a better one.
    case reins
    /// OPENBLAS_CORETYPE, set by whoever started Reins.
    case environment
}

/// Choosing OpenBLAS's kernel. Debian's OpenBLAS 0.3.21 does not know every CPU and falls back
/// to a generic kernel (an Intel Xeon of family 6 model 207 gets Prescott's SSE3 code, a quarter
/// of Haswell's speed). OpenBLAS reads OPENBLAS_CORETYPE once, when it loads, so the choice is
/// made by running Reins again with the variable set.
public enum BLASKernel {
    /// Set beside OPENBLAS_CORETYPE when Reins chose the kernel, so the run it starts knows.
    public static let chosenMarker = "REINS_BLAS_CHOSEN"
    /// Set when OpenBLAS must keep its own choice (`reins bench --native-kernel`).
    public static let nativeMarker = "REINS_BLAS_NATIVE"
    /// Set to the kernel a probe run checks: it multiplies, compares, and exits 0 when they agree.
    public static let probeMarker = "REINS_BLAS_PROBE"

    /// OpenBLAS's x86 kernels with AVX; every other one is generic here.
    static let avxCores: Set<String> = ["sandybridge", "bulldozer", "piledriver", "steamroller", "excavator", "haswell", "zen",
                                        "skylakex", "cooperlake", "sapphirerapids"]

    /// Whether `core` (as `openblas_get_corename` names it) is one of OpenBLAS's generic kernels.
    public static func isGeneric(_ core: String) -> Bool { !avxCores.contains(core.lowercased()) }

    /// What to do about the kernel at start-up.
    public enum Plan: Sendable, Equatable {
        /// Run with the kernel loaded, chosen by this source.
        case keep(BLASKernelSource)
        /// Run again with OPENBLAS_CORETYPE set to this kernel.
        case choose(String)
        /// Check `wider` in a probe run first; run again with it if its products agree with a
        /// plain reference, else with `fallback`.
        case probe(wider: String, fallback: String)
    }

    /// The plan for a process whose environment is `environment`, where OpenBLAS loaded kernel
    /// `core` on `cpu`: honour OPENBLAS_CORETYPE when set; replace a generic kernel on a CPU with
    /// AVX2 and FMA by Haswell's, or by SkylakeX's where AVX-512 is there and a probe agrees.
    public static func plan(environment: [String: String], core: String, cpu: CPUFeatures) -> Plan {
        if let set = environment["OPENBLAS_CORETYPE"], !set.isEmpty {
            return .keep(environment[chosenMarker] == set ? .reins : .environment)
        }
        guard environment[nativeMarker] == nil, isGeneric(core), cpu.avx2, cpu.fma else { return .keep(.openblas) }
        return cpu.avx512 ? .probe(wider: "SkylakeX", fallback: "Haswell") : .choose("Haswell")
    }

    /// Who chose the loaded kernel, from this process's environment.
    public static func source(environment: [String: String]) -> BLASKernelSource {
        guard let set = environment["OPENBLAS_CORETYPE"], !set.isEmpty else { return .openblas }
        return environment[chosenMarker] == set ? .reins : .environment
    }

    /// Whether the loaded kernel is `expected` and multiplies as a plain triple loop does: a
    /// 67×61 by 61×53 product with values whose sums are exact in single precision.
    public static func agreesWithReference(expected: String) -> Bool {
        guard BLAS.coreName.lowercased() == expected.lowercased() else { return false }
        let (m, n, k) = (67, 53, 61)
        let a = (0..<(m * k)).map { Float(($0 * 7) % 13) - 6 }, b = (0..<(k * n)).map { Float(($0 * 5) % 11) - 5 }
        var product = [Float](repeating: 0, count: m * n)
        BLAS.gemm(out: &product, a: a, b: b, m: m, n: n, k: k)
        for row in 0..<m {
            for column in 0..<n {
                var sum: Float = 0
                for inner in 0..<k { sum += a[row * k + inner] * b[inner * n + column] }
                if product[row * n + column] != sum { return false }
            }
        }
        return true
    }
}
