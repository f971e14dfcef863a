import ArgumentParser
import Foundation
import ReinsCore
import ReinsData
import ReinsHardware
import ReinsSim

extension BusProtocol: ExpressibleByArgument {}

struct Bus: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a serial servo bus: emulate one, scan it, read and write registers.",
        discussion: """
        Example:
          reins bus emulate --robot so101 &        # prints the pty path, e.g. /dev/pts/3
          reins bus scan --port /dev/pts/3 --protocol feetech
          reins bus read --port /dev/pts/3 --protocol feetech --ids 1,2,3 --register present_position
        """,
        subcommands: [Emulate.self, Scan.self, Read.self, Write.self])
}

/// The options every command that opens a real (or emulated) bus shares.
struct BusConnection: ParsableArguments {
    @Option(help: "The serial device, e.g. /dev/ttyUSB0 or the pty `reins bus emulate` printed.") var port: String
    @Option(name: .customLong("protocol"), help: "dynamixel or feetech.") var busProtocol: BusProtocol
    @Option(help: "Baud rate.") var baud = 1_000_000
    @Option(help: "Milliseconds added to each transaction's wire time before it times out (USB adapters need a few).")
    var marginMs = 10

    func validate() throws {
        guard busProtocol != .ethercat else { throw ValidationError("EtherCAT is not a serial servo bus: use `reins ethercat scan|sdo|state`") }
    }

    func registers() -> [Register] {
        busProtocol == .dynamixel ? DynamixelControlTable.xSeries : FeetechControlTable.sts3215
    }

    func register(named name: String) throws -> Register {
        guard let register = registers().register(named: name) else {
            throw CommandError("unknown register \"\(name)\" for \(busProtocol.rawValue); valid: \(registers().map(\.name).joined(separator: ", "))")
        }
        return register
    }

    /// Opens the port (asking for low latency) and a driver over it.
    func open(motors: [BusMotor] = [], baud: Int? = nil, retrying: Bool = true) throws -> any MotorBus {
        let line = try SerialLine(path: port, baud: baud ?? self.baud)
        // A pty has no latency to set; a USB adapter without it adds up to 16 ms to each transaction.
        if case .unavailable(let reason) = line.requestLowLatency(), !port.hasPrefix("/dev/pts/") {
            printError("note: \(port): low latency not set: \(reason)")
        }
        return makeBus(busProtocol, line: line, baud: baud ?? self.baud, motors: motors, margin: .milliseconds(marginMs),
                       maxRetries: retrying ? 2 : 0)
    }
}

func makeBus(_ busProtocol: BusProtocol, line: SerialLine, baud: Int, motors: [BusMotor], returnDelay: Duration = .microseconds(500),
             margin: Duration, maxRetries: Int = 2) -> any MotorBus {
    switch busProtocol {
    case .dynamixel: DynamixelBus(line: line, baud: baud, motors: motors, returnDelay: returnDelay, margin: margin, maxRetries: maxRetries)
    case .feetech: FeetechBus(line: line, baud: baud, motors: motors, returnDelay: returnDelay, margin: margin, maxRetries: maxRetries)
    case .ethercat: preconditionFailure("EtherCAT is not a serial bus; the commands refuse it before opening one")
    }
}

/// Parses "1,2,3" and "1-6" (and mixtures) into ids.
func parseIDs(_ text: String, maxID: Int) throws -> [UInt8] {
    var ids: [UInt8] = []
    for part in text.split(separator: ",") {
        let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, bounds.count <= 2, bounds.allSatisfy({ $0 != nil }),
              low <= high, low >= 0, high <= maxID else {
            throw CommandError("ids are numbers from 0 to \(maxID) as 1,2,3 or 1-6, not \"\(part)\"")
        }
        ids += (low...high).map { UInt8($0) }
    }
    return ids
}

extension Bus {
    struct Emulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Emulate a robot's servos on a new pty until interrupted; the pty path is the first line printed.",
            discussion: """
            Every servo keeps its full control table; EEPROM is writable only with torque off. The robot's MuJoCo twin moves the servos in real time: goal positions written over the bus drive its actuators, present position, speed and load come from its physics, and torque off makes a joint limp (servos power up with torque off, so the arm sags). Its cameras stream as MJPEG over HTTP; their URLs follow the pty path, one "name url" per line, then the options that point teleop, record, train and eval at this bus and these streams, ready to paste. With --no-physics, each present position simply moves toward its goal at the servo's speed. Faults can be injected for tests.

            With --factory the servos come as from the factory, one at a time, as `reins setup-motors` expects them: the last motor's servo alone at id 1 and its model's default baud (an STS3215 at 1,000,000, a Dynamixel X at 57,600), hearing only a host at its baud. Once it has its motor's id and the robot's baud and the bus has been quiet for 0.3 s (a person swapping cables), it is unplugged and the next plugged in; after the last, all are chained, ready for `reins calibrate`.

            With --hands a person's hands stand in for the owner's during `reins calibrate`: once it begins (torque off, offsets cleared) they bring the arm to the middle of each joint's range and hold it ("hands: holding the arm at the middle…"); once the homing offsets are written they move the joints slowly end to end and back, all together ("hands: moved every joint end to end…"); when torque comes on they let go.

            Example:
              reins bus emulate --robot omx
              reins bus emulate --robot so101 --factory --hands
              reins bus emulate --robot so101 --protocol dynamixel --drop 0.05 --corrupt 0.05 --seed 3
            """)

        @Option(help: "The robot whose servos to emulate (a name or a robot file).") var robot: String
        @Option(name: .customLong("protocol"), help: "Speak this protocol instead of the robot's own (same ids).") var busProtocol: BusProtocol?
        @Option(help: "Fraction of replies to drop.") var drop = 0.0
        @Option(help: "Fraction of replies to corrupt (one flipped bit).") var corrupt = 0.0
        @Option(help: "Extra microseconds before every reply.") var delayUs = 0
        @Option(help: "Seed for fault injection.") var seed: UInt64 = 1
        @Flag(help: "A simple servo model instead of the twin's physics (and no cameras).") var noPhysics = false
        @Option(help: "Port for the camera streams on 127.0.0.1 (default: any free port).") var cameraPort = 0
        @Flag(help: "Factory-fresh servos, one at a time, for `reins setup-motors` (see above).") var factory = false
        @Flag(help: "A person's hands calibrate the twin as `reins calibrate` asks (see above).") var hands = false
        @Option(help: "The most frames per second each camera streams (policies read at 10 Hz; every frame is rendered on the CPU at the robot file's size, so 30 fps of two cameras takes about a core).")
        var cameraFps = 15.0

        func validate() throws {
            guard cameraFps > 0 else { throw ValidationError("--camera-fps must be positive") }
            guard !hands || !noPhysics else { throw ValidationError("--hands move the twin's joints: they need its physics, not --no-physics") }
            if factory {
                guard busProtocol == nil, drop == 0, corrupt == 0, delayUs == 0 else {
                    throw ValidationError("--factory emulates servos as they come out of the box; --protocol, --drop, --corrupt and --delay-us do not go with it")
                }
            }
            guard (0...1).contains(drop), (0...1).contains(corrupt) else { throw ValidationError("--drop and --corrupt are fractions from 0 to 1") }
            guard delayUs >= 0 else { throw ValidationError("--delay-us cannot be negative") }
        }

        func run() throws {
            var definition = try RobotCatalog.locate().robot(robot)
            for index in definition.cameras.indices { definition.cameras[index].fps = min(definition.cameras[index].fps, cameraFps) }
            let stop = StopSignalWait()
            let emulator = factory ? try ServoBusEmulator.factoryFresh(robot: definition, seed: seed)
                : try ServoBusEmulator(robot: definition, busProtocol: busProtocol,
                                       faults: BusFaults(dropRate: drop, corruptRate: corrupt, delay: .microseconds(delayUs)), seed: seed)
            var server: MJPEGServer?
            if !noPhysics {
                let twin = try RobotTwin(robot: definition)
                let cameras = definition.cameras
                let streams = try MJPEGServer(cameras: cameras.map(\.name), port: cameraPort, fps: cameras.map(\.fps).max() ?? 30)
                server = streams
                emulator.drive(with: twin, cameras: CameraFeed { camera, width, height, rgb in
                    if let jpeg = try? Image(width: width, height: height, channels: 3, pixels: rgb).jpeg(quality: 85) {
                        streams.publish(camera, jpeg: jpeg)
                    }
                }, hands: hands)
            }
            emulator.start { event in
                print(event)
                fflush(nil)
            }
            print(emulator.devicePath)
            if let server, !definition.cameras.isEmpty {
                for camera in definition.cameras { print("\(camera.name) \(server.url(for: camera.name))") }
                let overrides = definition.cameras.map { "--camera \($0.name)=\(server.url(for: $0.name))" }.joined(separator: " ")
                print("for teleop, record, train and eval on this bus: --port \(emulator.devicePath) \(overrides)")
            }
            let ids = definition.motors.map { String($0.id) }.joined(separator: ", ")
            print("emulating \(definition.name): \((busProtocol ?? definition.busProtocol).rawValue) servos \(ids)"
                  + "\(noPhysics ? "" : ", moved by its MuJoCo twin"); Ctrl-C stops")
            if factory, let first = definition.motors.last, let baud = first.model.factoryBaud {
                print("factory-fresh: \(first.name)'s servo is plugged in alone at id 1, \(baud) baud; "
                      + "give it its id with reins setup-motors --robot \(robot) --port \(emulator.devicePath)")
            }
            fflush(nil)  // all output streams: the first line must reach a pipe reader now
            stop.wait()
            let frames = emulator.cameraFrames
            emulator.stop()
            let faults = emulator.injectedFaults
            print("stopped; replies dropped: \(faults.dropped), corrupted: \(faults.corrupted)"
                  + (frames.map { "; camera frames rendered: \($0.rendered), dropped for lack of time: \($0.dropped)" } ?? ""))
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ping every id and list the servos that answer: id, model, firmware, baud.",
            discussion: """
            Example:
              reins bus scan --port /dev/ttyUSB0 --protocol feetech
              reins bus scan --port /dev/ttyUSB0 --protocol dynamixel --all-bauds --ids 1-20 --json
            """)

        @OptionGroup var connection: BusConnection
        @Flag(help: "Try every baud rate the protocol supports.") var allBauds = false
        @Option(help: "Ids to ping, as 1-20 or 1,2,3 (default: all).") var ids: String?
        @Flag(help: "One JSON object per servo found.") var json = false

        struct Found: Encodable {
            var id: UInt8
            var model: String
            var modelNumber: UInt16
            var firmware: UInt8
            var baud: Int
        }

        func run() throws {
            let maxID = connection.busProtocol.maxMotorID
            let candidates = try ids.map { try parseIDs($0, maxID: maxID) } ?? (0...maxID).map { UInt8($0) }
            let bauds = allBauds ? connection.busProtocol.supportedBauds : [connection.baud]
            var found = 0
            for baud in bauds {
                let bus = try connection.open(baud: baud, retrying: false)
                for id in candidates {
                    guard let identity = try bus.ping(id: id) else { continue }
                    found += 1
                    let row = Found(id: id, model: modelName(identity.modelNumber), modelNumber: identity.modelNumber,
                                    firmware: identity.firmware, baud: baud)
                    if json {
                        JSONLines.print(row)
                    } else {
                        print("id \(column(String(id), 4))\(column(row.model, 11)) model \(column(String(row.modelNumber), 5)) firmware \(column(String(row.firmware), 4)) at \(baud) baud")
                    }
                }
            }
            if found == 0 && !json {
                print("no servo answered on \(connection.port) at \(bauds.map(String.init).joined(separator: ", ")) baud; check power, wiring and protocol, or try --all-bauds")
            }
        }

        private func modelName(_ number: UInt16) -> String {
            switch connection.busProtocol {
            case .dynamixel: DynamixelModel(modelNumber: number)?.rawValue ?? "unknown"
            case .feetech: number == FeetechControlTable.sts3215ModelNumber ? MotorModel.sts3215.rawValue : "unknown"
            case .ethercat: "unknown"
            }
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read one register from each id: the value in the register's unit, and raw.",
            discussion: """
            Register names are the control table's snake_case names; an unknown one lists them all.

            Example:
              reins bus read --port /dev/ttyUSB0 --protocol feetech --ids 1-6 --register present_position
              reins bus read --port /dev/ttyUSB0 --protocol dynamixel --ids 11 --register present_temperature --json
            """)

        @OptionGroup var connection: BusConnection
        @Option(help: "Ids, as 1,2,3 or 1-6.") var ids: String
        @Option(help: "The register's name, e.g. present_position.") var register: String
        @Flag(help: "One JSON object per id.") var json = false

        struct Row: Encodable {
            var id: UInt8
            var register: String
            var raw: Int32
            var value: Double
            var unit: String
        }

        func run() throws {
            let register = try connection.register(named: register)
            let bus = try connection.open()
            for id in try parseIDs(ids, maxID: connection.busProtocol.maxMotorID) {
                let raw = try bus.read(register, id: id)
                let row = Row(id: id, register: register.name, raw: raw, value: register.physical(raw), unit: register.unit)
                if json {
                    JSONLines.print(row)
                } else if register.unit.isEmpty {
                    print("id \(column(String(id), 4))\(register.name) = \(raw)")
                } else {
                    print("id \(column(String(id), 4))\(register.name) = \(String(format: "%.2f", row.value)) \(register.unit) (raw \(raw))")
                }
            }
        }
    }

    struct Write: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a raw value to one register of each id, and wait for each servo's acknowledgement.",
            discussion: """
            EEPROM registers (ids, limits, offsets) need torque off first.

            Example:
              reins bus write --port /dev/ttyUSB0 --protocol feetech --ids 1-6 --register torque_enable --value 1
              reins bus write --port /dev/ttyUSB0 --protocol dynamixel --ids 11 --register goal_position --value 2048
            """)

        @OptionGroup var connection: BusConnection
        @Option(help: "Ids, as 1,2,3 or 1-6.") var ids: String
        @Option(help: "The register's name, e.g. goal_position.") var register: String
        @Option(help: "The raw value to write.") var value: Int32
        @Flag(help: "One JSON object per id.") var json = false

        struct Row: Encodable {
            var id: UInt8
            var register: String
            var raw: Int32
            var written: Bool
        }

        func run() throws {
            let register = try connection.register(named: register)
            guard register.isWritable else { throw CommandError("\(register.name) is read-only") }
            let bus = try connection.open()
            for id in try parseIDs(ids, maxID: connection.busProtocol.maxMotorID) {
                try bus.write(register, id: id, value: value)
                if json {
                    JSONLines.print(Row(id: id, register: register.name, raw: value, written: true))
                } else {
                    print("id \(column(String(id), 4))\(register.name) ← \(value)")
                }
            }
        }
    }
}
