import Foundation
import Testing

@Suite("reins ethercat against reins ethercat emulate")
struct EtherCATCommandTests {
    @Test("emulate on UDP, then scan, sdo read and write, and state from other processes, as a user would")
    func endToEnd() throws {
        let emulator = try BackgroundReins(["ethercat", "emulate", "--slaves", "2", "--udp", "127.0.0.1:0"])
        let location = try #require(emulator.firstLine())
        #expect(location.hasPrefix("udp 127.0.0.1:"))
        let bus = ["--udp", String(location.dropFirst(4))]

        let scan = try run(reinsExecutable, ["ethercat", "scan", "--json"] + bus)
        #expect(scan.status == 0, "\(scan.stderr)")
        let slaves = try jsonLines(scan.stdout)
        #expect(slaves.compactMap { $0["position"] as? Int } == [1, 2])
        #expect(slaves.allSatisfy { $0["name"] as? String == "Reins emulated CiA 402 drive" && $0["state"] as? String == "PRE-OP" })
        #expect(slaves.first?["output_bytes"] as? Int == 13 && slaves.first?["input_bytes"] as? Int == 15)
        #expect((slaves.first?["inputs"] as? [String])?.first == "0x6041:0 (16 bits)")

        let write = try run(reinsExecutable, ["ethercat", "sdo", "write", "--slave", "2", "--index", "0x6065", "--type", "u32", "--value", "20000"] + bus)
        #expect(write.status == 0, "\(write.stderr)")
        let read = try run(reinsExecutable, ["ethercat", "sdo", "read", "--slave", "2", "--index", "0x6065", "--type", "u32", "--json"] + bus)
        #expect(try jsonLines(read.stdout).first?["value"] as? String == "20000")
        let missing = try run(reinsExecutable, ["ethercat", "sdo", "read", "--slave", "1", "--index", "0x7777"] + bus)
        #expect(missing.status != 0 && missing.stderr.contains("SDO 0x7777:0 aborted: 0x06020000 the object does not exist"))
        let noSlave = try run(reinsExecutable, ["ethercat", "sdo", "read", "--slave", "3", "--index", "0x1008"] + bus)
        #expect(noSlave.status != 0 && noSlave.stderr.contains("there is no slave 3: the bus has 2"))

        let set = try run(reinsExecutable, ["ethercat", "state", "--set", "SAFE-OP"] + bus)
        #expect(set.status == 0, "\(set.stderr)")
        let state = try run(reinsExecutable, ["ethercat", "state", "--json"] + bus)
        #expect(try jsonLines(state.stdout).map { $0["state"] as? String } == ["SAFE-OP", "SAFE-OP"])
        #expect(emulator.stop() == 0)
        #expect(emulator.output.contains("stopped; frames answered:"))
    }

    @Test("no bus at the address, an unknown interface, and bad options are named")
    func errors() throws {
        let silent = try reins("ethercat", "scan", "--udp", "127.0.0.1:9", "--frame-timeout-us", "500")
        #expect(silent.status != 0 && silent.stderr.contains("counting slaves (BRD 0x0000): no reply within"))
        let nowhere = try reins("ethercat", "scan", "--iface", "reins404")
        #expect(nowhere.status != 0 && nowhere.stderr.contains("reins404: cannot open: no such network interface"))
        let both = try reins("ethercat", "scan", "--iface", "eth0", "--udp", "127.0.0.1:1")
        #expect(both.status != 0 && both.stderr.contains("give one of --iface IF or --udp HOST:PORT"))
        let op = try reins("ethercat", "state", "--udp", "127.0.0.1:1", "--set", "OP")
        #expect(op.status != 0 && op.stderr.contains("--set OP needs cyclic process data"))
    }

    @Test("reins bench ethercat prints its figures as JSON, with the CPU named; reins bench bus --protocol ethercat runs it")
    func bench() throws {
        let result = try reins("bench", "ethercat", "--slaves", "2", "--seconds", "0.5", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let output = try #require(try jsonLines(result.stdout).first)
        #expect((output["cycles"] as? Int ?? 0) == 500)
        #expect(output["wkc_failures"] as? Int == 0)
        for key in ["achieved_hz", "jitter_p50_us", "jitter_p99_us", "jitter_max_us", "round_trip_median_us", "round_trip_p99_us"] {
            #expect(output[key] is Double, "\(key)")
        }
        #expect(output["dc_max_diff_ns"] is Int && output["cpu"] is String)
        // The bus bench hands an EtherCAT bus to the same benchmark.
        let bus = try reins("bench", "bus", "--protocol", "ethercat", "--motors", "2", "--seconds", "0.3", "--json")
        #expect(bus.status == 0, "\(bus.stderr)")
        let drives = try #require(try jsonLines(bus.stdout).first)
        #expect(drives["benchmark"] as? String == "ethercat" && drives["slaves"] as? Int == 2 && drives["cycles"] as? Int == 300)
    }
}

@Suite("reins robot on an EtherCAT robot")
struct EtherCATRobotCommandTests {
    @Test("robot state and robot home on an EtherCAT robot's emulated drives, as on its servos")
    func stateAndHome() throws {
        let file = "Tests/Fixtures/so101-ethercat/robot.yaml"
        let emulator = try BackgroundReins(["ethercat", "emulate", "--robot", file, "--udp", "127.0.0.1:0"])
        let location = try #require(emulator.firstLine())
        defer { _ = emulator.stop() }
        let bus = ["--robot", file, "--udp", String(location.dropFirst(4))]
        let state = try run(reinsExecutable, ["robot", "state", "--json"] + bus)
        #expect(state.status == 0, "\(state.stderr)")
        let read = try #require(try jsonLines(state.stdout).first)
        let joints = try #require(read["joint_pos_rad"] as? [Double])
        #expect(zip(joints, [0.0, -1, 1, 0.5, 0, 0]).allSatisfy { abs($0 - $1) < 1e-4 }, "\(joints)")
        #expect(read["effort_unit"] as? String == "N·m")

        let home = try run(reinsExecutable, ["robot", "home", "--json"] + bus)
        #expect(home.status == 0, "\(home.stderr)")
        #expect(try jsonLines(home.stdout).first?["reached"] as? Bool == true)

        let wrongBus = try reins("robot", "state", "--robot", "so101", "--udp", String(location.dropFirst(4)))
        #expect(wrongBus.status != 0 && wrongBus.stderr.contains("so101 has feetech servos on a serial bus: give --port"))
        let noBus = try reins("robot", "state", "--robot", file, "--sim")
        #expect(noBus.status != 0 && noBus.stderr.contains("is on EtherCAT: give --iface IF or --udp HOST:PORT"))
    }
}
