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
        let actorNetwork = cost((actor.encoder?.cameras ?? []) + [actor.trunk])
        let criticEncoder = cost(critic.encoder.cameras)
        let criticHeads = cost(critic.heads)
        let criticForward = criticEncoder.forward + criticHeads.forward
        // Backward: weight gradients cost a forward's flops, input gradients what they are counted at.
        let criticBackward = criticForward + criticEncoder.inputGradient + criticHeads.inputGradient
        let actorBackward = actorNetwork.forward + actorNetwork.inputGradient
        // A discrete gripper's critic: online and target on s′, online on s, its weight gradients,
        // and the critic's encoder on s′ for the online argmax.
        let gripperStep = gripperCritic.map { 4 * cost([$0.network]).forward + criticEncoder.forward } ?? 0
        if config.sharesEncoder {
            // Critic step: the target encodes s′ once (actor and target heads read it), the critic
            // runs on (s, a) and backward. Actor step: the critic encodes s once, the actor and the
            // heads read it, dQ/da through the heads, the actor's trunk backward.
            let criticStep = criticEncoder.forward + actorNetwork.forward + criticHeads.forward + criticForward + criticBackward
            var actorStep = criticEncoder.forward + actorNetwork.forward + criticHeads.forward + criticHeads.inputGradient + actorBackward
            // The imitation term's input gradient through the trunk, then the encoder's backward.
            if config.imitationReachesSharedEncoder { actorStep += actorNetwork.inputGradient + criticEncoder.forward + criticEncoder.inputGradient }
            return criticStep + gripperStep + actorStep
        }
        let criticStep = actorNetwork.forward + 2 * criticForward + criticBackward  // actor and target critic on s′, critic on s
        let actorStep = actorNetwork.forward + criticForward + criticHeads.inputGradient + actorBackward  // actor on s, critic on (s, a), dQ/da
        return criticStep + gripperStep + actorStep
    }
}
