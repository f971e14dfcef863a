import Foundation
import ReinsCore
import ReinsNN

/// Double-precision reference implementations of every layer, written independently of the Float
/// kernels (direct loops, no im2col, no BLAS), for gradient checks by central differences.
enum Reference {
    static func dense(_ x: [Double], batch: Int, input: Int, output: Int, weight: ArraySlice<Double>, bias: ArraySlice<Double>) -> [Double] {
        let w = Array(weight), b = Array(bias)
        var y = [Double](repeating: 0, count: batch * output)
        for row in 0..<batch {
            for o in 0..<output {
                var sum = b[o]
                for i in 0..<input { sum += x[row * input + i] * w[i * output + o] }
                y[row * output + o] = sum
            }
        }
        return y
    }

    static func convolution(_ x: [Double], batch: Int, _ g: Convolution.Geometry, weight: ArraySlice<Double>, bias: ArraySlice<Double>) -> [Double] {
        let w = Array(weight), b = Array(bias)
        var y = [Double](repeating: 0, count: batch * g.outputHeight * g.outputWidth * g.filters)
        for n in 0..<batch {
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    for f in 0..<g.filters {
                        var sum = b[f]
                        for ky in 0..<g.kernel {
                            for kx in 0..<g.kernel {
                                let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                                guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                for c in 0..<g.channels {
                                    let input = x[((n * g.height + iy) * g.width + ix) * g.channels + c]
                                    sum += input * w[((ky * g.kernel + kx) * g.channels + c) * g.filters + f]
                                }
                            }
                        }
                        y[((n * g.outputHeight + oy) * g.outputWidth + ox) * g.filters + f] = sum
                    }
                }
            }
        }
        return y
    }

    static func layerNorm(_ x: [Double], batch: Int, width: Int, scale: ArraySlice<Double>, offset: ArraySlice<Double>) -> [Double] {
        let gamma = Array(scale), beta = Array(offset)
        var y = x
        for row in 0..<batch {
            let values = x[(row * width)..<((row + 1) * width)]
            let mean = values.reduce(0, +) / Double(width)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            let inverse = 1 / (variance + Double(LayerNorm.epsilon)).squareRoot()
            for i in 0..<width { y[row * width + i] = (x[row * width + i] - mean) * inverse * gamma[i] + beta[i] }
        }
        return y
    }

    /// A network's forward pass in Double, reading its parameters from `parameters` (a flat copy of
    /// its ParameterSet, which the gradient check perturbs).
    static func forward(_ network: Sequential, _ x: [Double], batch: Int, set: ParameterSet, parameters: [Double]) -> [Double] {
        var current = x
        for layer in network.layers { current = forward(layer, current, batch: batch, set: set, parameters: parameters) }
        return current
    }

    static func forward(_ layer: any Layer, _ x: [Double], batch: Int, set: ParameterSet, parameters: [Double]) -> [Double] {
        func slice(_ slot: ParameterSet.Slot) -> ArraySlice<Double> { parameters[slot.offset..<(slot.offset + slot.count)] }
        switch layer {
        case let dense as Dense:
            return Reference.dense(x, batch: batch, input: dense.inputWidth, output: dense.outputWidth, weight: slice(dense.weight), bias: slice(dense.bias))
        case let convolution as Convolution:
            return Reference.convolution(x, batch: batch, convolution.geometry, weight: slice(convolution.weight), bias: slice(convolution.bias))
        case let norm as LayerNorm:
            return Reference.layerNorm(x, batch: batch, width: norm.inputWidth, scale: slice(norm.scale), offset: slice(norm.offset))
        case let activation as Activation:
            switch activation.function {
            case .relu: return x.map { max($0, 0) }
            case .tanh: return x.map { Foundation.tanh($0) }
            }
        default:
            fatalError("no reference for \(type(of: layer))")
        }
    }

    /// Central difference of `loss` with respect to each of `indices` of `point`, in Double.
    static func gradient(of loss: ([Double]) -> Double, at point: [Double], indices: [Int], step: Double = 1e-5) -> [Double] {
        indices.map { index in
            var plus = point, minus = point
            plus[index] += step
            minus[index] -= step
            return (loss(plus) - loss(minus)) / (2 * step)
        }
    }
}

/// |a − b| ≤ absolute + relative·max(|a|, |b|) for each pair; a description of the worst pair otherwise.
func mismatch(_ analytic: [Double], _ numeric: [Double], absolute: Double = 1e-4, relative: Double = 2e-3) -> String? {
    precondition(analytic.count == numeric.count)
    for (index, (a, n)) in zip(analytic, numeric).enumerated() where abs(a - n) > absolute + relative * max(abs(a), abs(n)) {
        return "entry \(index): analytic \(a), finite difference \(n)"
    }
    return nil
}

func seededFloats(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -1...1) -> [Float] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float.random(in: range, using: &generator) }
}
