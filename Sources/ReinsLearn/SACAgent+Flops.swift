import ReinsNN

extension SACAgent {
    /// Floating-point operations of the matrix products in one `update` (a critic step and an actor
    /// step) at the configured batch size: what GFLOP/s figures are computed from. Element-wise
    /// work is not counted.
    public var flopsPerUpdate: Double {
        let batch = Double(config.batchSize)
        // Per network: forward flops, and the part of them whose input gradient is computed.
        func cost(_ networks: [Sequential]) -> (forward: Double, inputGradient: Double) {
            var forward = 0.0, inputGradient = 0.0
            for layer in networks.flatMap(\.layers) {
                let flops: Double
                if let dense = layer as? Dense {
                    flops = 2 * Double(dense.inputWidth * dense.outputWidth)
                } else if let convolution = layer as? Convolution {
                    flops = Double(convolution.geometry.forwardFlops)
                } else {
                    continue
                }
                forward += flops
                if layer.computesInputGradient { inputGradient += flops }
            }
            return (forward * batch, inputGradient * batch)
        }
        let actorNetwork = cost(actor.encoder.cameras + [actor.trunk])
        let criticEncoder = cost(critic.encoder.cameras)
        let criticHeads = cost(critic.heads)
        let criticForward = criticEncoder.forward + criticHeads.forward
        let criticStep = actorNetwork.forward + 2 * criticForward  // actor on s′, target critic on s′, critic on s
            + criticForward + criticEncoder.inputGradient + criticHeads.inputGradient  // weight and input gradients
        let actorStep = actorNetwork.forward + criticForward + criticHeads.inputGradient  // actor on s, critic on (s, a), dQ/da
            + actorNetwork.forward + actorNetwork.inputGradient
        return criticStep + actorStep
    }
}
