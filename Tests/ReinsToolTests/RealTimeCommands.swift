import Testing

/// The suites whose commands run real-time control loops, twins, renderers and learners: one at a
/// time, so on a two-core machine they do not starve each other's emulated servos.
@Suite("commands that run real-time loops, one suite at a time", .serialized)
struct RealTimeCommands {}
