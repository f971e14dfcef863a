import ArgumentParser
import Foundation
import ReinsCore
import ReinsHardware

struct SetupMotors: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup-motors",
        abstract: "Give factory-fresh servos their ids and the robot's baud, one motor at a time, as the robot file has them.",
        discussion: """
        Servos leave the factory at id 1 (an STS3215 at 1,000,000 baud, a Dynamixel X at 57,600), so on one bus they would all answer together. For each motor of the robot file in turn, last to first (the gripper first, as LeRobot does, so a motor whose id is 1 comes last and a servo at id 1 is always a fresh one), connect that motor's servo alone to the adapter, power it, and press Enter: the servo is found at whatever id and baud it has, given the motor's id and the robot's baud, and checked to answer there. Type s and Enter to skip a motor, q to stop. Nothing is written to any file. When all are done, chain them and run `reins calibrate`.

        To try it without servos, `reins bus emulate --robot R --factory` plays the servos coming out of their boxes.

        Example:
          reins setup-motors --robot so101 --port /dev/ttyACM0
          reins setup-motors --robot omx --port /dev/ttyUSB0 --motor gripper
        """)

    @Option(help: "The robot: a name from `reins robots` or a robot.yaml path.") var robot: String
    @Option(help: "The servo bus's serial device (`reins ports` lists them).") var port: String
    @Option(name: .customLong("motor"), help: "Set up only this motor (repeatable); by default every motor, last to first.")
    var motors: [String] = []
    @Option(help: "Milliseconds added to each bus transaction's wire time before it times out (USB adapters need a few).")
    var marginMs = 10

    func run() throws {
        let catalog = try RobotCatalog.locate()
        let definition = try catalog.robot(robot)
        guard definition.busProtocol != .ethercat else {
            throw CommandError("\(definition.name)'s CiA 402 drives are addressed by their place on the cable: there are no ids or baud to set")
        }
        for name in motors where definition.motor(named: name) == nil {
            throw CommandError("--motor \(name): \(catalog.displayPath(definition.file)) has no such motor; its motors are \(definition.motors.map(\.name).joined(separator: ", "))")
        }
        let chosen = Self.order(definition).filter { motors.isEmpty || motors.contains($0.name) }
        let setup = ServoSetup(port: port, busProtocol: definition.busProtocol, margin: .milliseconds(marginMs))
        var done: [MotorSpec] = [], skipped: [String] = []
        for (index, motor) in chosen.enumerated() {
            print("[\(index + 1)/\(chosen.count)] \(motor.name) (\(motor.model.rawValue), id \(motor.id) at \(definition.baud) baud): "
                  + "connect its servo alone to the adapter, power it, then press Enter (s skips it, q stops)")
            fflush(nil)
            var finished = false
            while !finished {
                guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else {
                    throw CommandError("standard input closed before \(motor.name) was set up; \(summary(done, skipped))")
                }
                if answer == "q" {
                    print("stopped before \(motor.name); \(summary(done, skipped))")
                    throw ExitCode(1)
                }
                if answer == "s" {
                    skipped.append(motor.name)
                    print("skipped \(motor.name)")
                    break
                }
                print("searching \(port) for servos at every id and baud…")
                fflush(nil)
                let outcome = try setUp(motor, robot: definition, with: setup, alreadyDone: done)
                print(outcome.message)
                fflush(nil)
                finished = outcome.done
                if finished { done.append(motor) }
            }
        }
        print(summary(done, skipped))
        if skipped.isEmpty && !done.isEmpty {
            print("Next: chain the servos, power them, and run reins calibrate --robot \(robot) --port \(port)")
        }
    }

    /// Finds the one servo connected, gives it `motor`'s id and the robot's baud, and checks it;
    /// what to tell the user, and whether the motor is done (otherwise they fix something and
    /// press Enter again).
    private func setUp(_ motor: MotorSpec, robot: RobotDefinition, with setup: ServoSetup,
                       alreadyDone: [MotorSpec]) throws -> (message: String, done: Bool) {
        let retry = "then press Enter to search again (s skips \(motor.name), q stops)"
        let preferred = [motor.model.factoryBaud, robot.baud].compactMap { $0 }
        guard let found = try setup.search(bauds: preferred) else {
            let bauds = robot.busProtocol.supportedBauds.map(String.init).joined(separator: ", ")
            return ("no servo answered at any id (0–\(robot.busProtocol.maxMotorID)) or baud (\(bauds)). Check that the servo has power "
                    + "(the adapter's USB does not power servos: the arm's supply must be on), that the cable sits in the adapter's servo "
                    + "port and the servo, and that this is a \(robot.busProtocol.rawValue) bus; \(retry)", false)
        }
        guard found.servos.count == 1, let servo = found.servos.first else {
            let ids = found.servos.map { String($0.id) }.joined(separator: ", ")
            return ("\(found.servos.count) servos answer (ids \(ids) at \(found.baud) baud): unplug all but \(motor.name)'s servo, \(retry)", false)
        }
        if let earlier = alreadyDone.first(where: { UInt8($0.id) == servo.id && $0.id != motor.id }), found.baud == robot.baud {
            return ("the servo connected answers at id \(servo.id), \(found.baud) baud: that is \(earlier.name)'s, set up already. "
                    + "Unplug it and connect \(motor.name)'s servo alone, \(retry)", false)
        }
        guard servo.modelNumber == motor.model.modelNumber else {
            let what = servo.modelNumber == 0 ? "a garbled reply (two servos answering at once?)" : "model number \(servo.modelNumber)"
            return ("at id \(servo.id), \(found.baud) baud, came \(what), where \(motor.name) is a \(motor.model.rawValue) "
                    + "(\(motor.model.modelNumber)): connect \(motor.name)'s servo alone, or fix its model in the robot file; \(retry)", false)
        }
        let target = UInt8(motor.id)
        if servo.id == target && found.baud == robot.baud {
            return ("\(motor.name): already at id \(target), \(robot.baud) baud; nothing written", true)
        }
        guard let checked = try setup.assign(from: servo.id, at: found.baud, id: target, baud: robot.baud) else {
            return ("\(motor.name): wrote id \(target) and \(robot.baud) baud into the servo found at id \(servo.id), \(found.baud) baud, "
                    + "but it does not answer there. Power it off and on (some firmwares take a new baud only then), \(retry)", false)
        }
        guard checked.modelNumber == motor.model.modelNumber else {
            return ("\(motor.name): at id \(target), \(robot.baud) baud a servo answers, but with model number \(checked.modelNumber); \(retry)", false)
        }
        return ("\(motor.name): id \(servo.id) → \(target), \(found.baud) → \(robot.baud) baud; it answers there", true)
    }

    /// The robot's motors in the order they are set up: last to first.
    static func order(_ definition: RobotDefinition) -> [MotorSpec] { definition.motors.reversed() }

    private func summary(_ done: [MotorSpec], _ skipped: [String]) -> String {
        let set = done.isEmpty ? "no motor set up" : "set up: \(done.map { "\($0.name) (id \($0.id))" }.joined(separator: ", "))"
        return skipped.isEmpty ? set : "\(set); skipped: \(skipped.joined(separator: ", "))"
    }
}
