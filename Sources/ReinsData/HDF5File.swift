import CHDF5
import Foundation

/// An HDF5 file: groups, attributes and datasets of Float or UInt8, as episode files need.
///
/// Paths are absolute inside the file (`/data/demo_0/actions`); parents are created as needed.
/// Debian's HDF5 is built thread-safe with one global lock: calls from several threads are safe
/// but never run in parallel, so keep HDF5 writes off the control loop's thread.
public final class HDF5File {
    public enum Mode: Sendable {
        /// Create, replacing any file at the path.
        case create
        case readOnly
        case readWrite
    }

    public let path: String
    let id: hid_t

    public init(path: String, mode: Mode) throws(DataError) {
        H5open()
        reins_h5_silence_errors()
        self.path = path
        let fileID: hid_t
        switch mode {
        case .create: fileID = H5Fcreate(path, reins_h5f_acc_trunc(), reins_h5p_default(), reins_h5p_default())
        case .readOnly: fileID = H5Fopen(path, reins_h5f_acc_rdonly(), reins_h5p_default())
        case .readWrite: fileID = H5Fopen(path, reins_h5f_acc_rdwr(), reins_h5p_default())
        }
        guard fileID >= 0 else {
            throw .hdf5(file: path, object: "/", operation: mode == .create ? "creating the file" : "opening the file")
        }
        id = fileID
    }

    deinit {
        H5Fclose(id)
    }

    /// Writes everything buffered to disk.
    public func flush() throws(DataError) {
        guard H5Fflush(id, H5F_SCOPE_LOCAL) >= 0 else { throw .hdf5(file: path, object: "/", operation: "flushing") }
    }

    /// Creates a group and any missing parents.
    public func createGroup(_ groupPath: String) throws(DataError) {
        let links = try linkCreationList(groupPath)
        defer { H5Pclose(links) }
        let group = H5Gcreate2(id, groupPath, links, reins_h5p_default(), reins_h5p_default())
        guard group >= 0 else { throw .hdf5(file: path, object: groupPath, operation: "creating the group") }
        H5Gclose(group)
    }

    public func exists(_ objectPath: String) -> Bool {
        var prefix = ""
        for part in objectPath.split(separator: "/") {
            prefix += "/\(part)"
            guard H5Lexists(id, prefix, reins_h5p_default()) > 0 else { return false }
        }
        return true
    }

    private func linkCreationList(_ objectPath: String) throws(DataError) -> hid_t {
        let links = H5Pcreate(reins_h5p_link_create())
        guard links >= 0, H5Pset_create_intermediate_group(links, 1) >= 0 else {
            throw .hdf5(file: path, object: objectPath, operation: "making a link-creation property list")
        }
        return links
    }

    // MARK: Datasets

    /// Writes a Float dataset of the given shape.
    public func write(_ values: [Float], shape: [Int], to datasetPath: String) throws(DataError) {
        try values.withUnsafeBytes { raw in
            Result { () throws(DataError) in
                try write(raw, type: reins_h5t_native_float(), shape: shape, chunk: nil, gzipLevel: nil, to: datasetPath)
            }
        }.get()
    }

    /// Writes a Double dataset of the given shape.
    public func write(_ values: [Double], shape: [Int], to datasetPath: String) throws(DataError) {
        try values.withUnsafeBytes { raw in
            Result { () throws(DataError) in
                try write(raw, type: reins_h5t_native_double(), shape: shape, chunk: nil, gzipLevel: nil, to: datasetPath)
            }
        }.get()
    }

    /// Writes a UInt8 dataset, optionally chunked and gzip-compressed (images: chunk one frame).
    public func write(_ values: [UInt8], shape: [Int], chunk: [Int]? = nil, gzipLevel: Int? = nil,
                      to datasetPath: String) throws(DataError) {
        try values.withUnsafeBytes { raw in
            Result { () throws(DataError) in
                try write(raw, type: reins_h5t_native_uint8(), shape: shape, chunk: chunk, gzipLevel: gzipLevel, to: datasetPath)
            }
        }.get()
    }

    private func write(_ bytes: UnsafeRawBufferPointer, type: hid_t, shape: [Int], chunk: [Int]?, gzipLevel: Int?,
                       to datasetPath: String) throws(DataError) {
        precondition(shape.reduce(1, *) * H5Tget_size(type) == bytes.count, "shape \(shape) does not match \(bytes.count) bytes")
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        guard space >= 0 else { throw .hdf5(file: path, object: datasetPath, operation: "making a dataspace") }
        defer { H5Sclose(space) }
        let creation = H5Pcreate(reins_h5p_dataset_create())
        defer { H5Pclose(creation) }
        if let chunk {
            precondition(chunk.count == shape.count, "chunk \(chunk) must have the rank of shape \(shape)")
            var chunkDims = chunk.map { hsize_t($0) }
            guard H5Pset_chunk(creation, Int32(chunkDims.count), &chunkDims) >= 0 else {
                throw .hdf5(file: path, object: datasetPath, operation: "setting chunk \(chunk)")
            }
            if let gzipLevel {
                guard H5Pset_deflate(creation, UInt32(gzipLevel)) >= 0 else {
                    throw .hdf5(file: path, object: datasetPath, operation: "enabling gzip level \(gzipLevel)")
                }
            }
        }
        let links = try linkCreationList(datasetPath)
        defer { H5Pclose(links) }
        let dataset = H5Dcreate2(id, datasetPath, type, space, links, creation, reins_h5p_default())
        guard dataset >= 0 else { throw .hdf5(file: path, object: datasetPath, operation: "creating the dataset") }
        defer { H5Dclose(dataset) }
        guard H5Dwrite(dataset, type, reins_h5s_all(), reins_h5s_all(), reins_h5p_default(), bytes.baseAddress) >= 0 else {
            throw .hdf5(file: path, object: datasetPath, operation: "writing the dataset")
        }
    }

    /// A dataset's shape, chunk shape (nil when contiguous) and whether it is gzip-compressed.
    public func layout(of datasetPath: String) throws(DataError) -> (shape: [Int], chunk: [Int]?, gzip: Bool) {
        let dataset = try openDataset(datasetPath)
        defer { H5Dclose(dataset) }
        let shape = try shape(of: dataset, datasetPath)
        let creation = H5Dget_create_plist(dataset)
        defer { H5Pclose(creation) }
        guard H5Pget_layout(creation) == H5D_CHUNKED else { return (shape, nil, false) }
        var chunkDims = [hsize_t](repeating: 0, count: shape.count)
        H5Pget_chunk(creation, Int32(shape.count), &chunkDims)
        let gzip = H5Pget_filter_by_id2(creation, H5Z_FILTER_DEFLATE, nil, nil, nil, 0, nil, nil) >= 0
        return (shape, chunkDims.map { Int($0) }, gzip)
    }

    public func readFloats(_ datasetPath: String) throws(DataError) -> (values: [Float], shape: [Int]) {
        try read(datasetPath, type: reins_h5t_native_float(), typeClass: H5T_FLOAT, as: Float.self)
    }

    /// Reads a floating-point dataset (float32 or float64) as Doubles.
    public func readDoubles(_ datasetPath: String) throws(DataError) -> (values: [Double], shape: [Int]) {
        try read(datasetPath, type: reins_h5t_native_double(), typeClass: H5T_FLOAT, as: Double.self)
    }

    /// The stored element type as numpy names it: float32, float64, uint8, int64, …
    public func elementType(of datasetPath: String) throws(DataError) -> String {
        let dataset = try openDataset(datasetPath)
        defer { H5Dclose(dataset) }
        let stored = H5Dget_type(dataset)
        defer { H5Tclose(stored) }
        let bits = H5Tget_size(stored) * 8
        switch H5Tget_class(stored) {
        case H5T_FLOAT: return "float\(bits)"
        case H5T_INTEGER: return H5Tget_sign(stored) == H5T_SGN_NONE ? "uint\(bits)" : "int\(bits)"
        case H5T_STRING: return "string"
        default: return "other"
        }
    }

    /// The names of a group's members, sorted.
    public func members(of groupPath: String) throws(DataError) -> [String] {
        let group = H5Gopen2(id, groupPath, reins_h5p_default())
        guard group >= 0 else { throw .hdf5(file: path, object: groupPath, operation: "opening the group") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw .hdf5(file: path, object: groupPath, operation: "listing the group") }
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, reins_h5p_default())
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, reins_h5p_default())
            names.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return names.sorted()
    }

    public func readBytes(_ datasetPath: String) throws(DataError) -> (values: [UInt8], shape: [Int]) {
        try read(datasetPath, type: reins_h5t_native_uint8(), typeClass: H5T_INTEGER, as: UInt8.self)
    }

    private func read<Element: Numeric>(_ datasetPath: String, type: hid_t, typeClass: H5T_class_t,
                                        as: Element.Type) throws(DataError) -> (values: [Element], shape: [Int]) {
        let dataset = try openDataset(datasetPath)
        defer { H5Dclose(dataset) }
        let storedType = H5Dget_type(dataset)
        defer { H5Tclose(storedType) }
        guard H5Tget_class(storedType) == typeClass else {
            throw .typeMismatch(file: path, object: datasetPath, expected: "a dataset of \(Element.self)")
        }
        let shape = try shape(of: dataset, datasetPath)
        var values = [Element](repeating: 0, count: shape.reduce(1, *))
        let status = values.withUnsafeMutableBytes {
            H5Dread(dataset, type, reins_h5s_all(), reins_h5s_all(), reins_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw .hdf5(file: path, object: datasetPath, operation: "reading the dataset") }
        return (values, shape)
    }

    private func openDataset(_ datasetPath: String) throws(DataError) -> hid_t {
        guard exists(datasetPath) else { throw .hdf5(file: path, object: datasetPath, operation: "finding the dataset") }
        let dataset = H5Dopen2(id, datasetPath, reins_h5p_default())
        guard dataset >= 0 else { throw .hdf5(file: path, object: datasetPath, operation: "opening the dataset") }
        return dataset
    }

    private func shape(of dataset: hid_t, _ datasetPath: String) throws(DataError) -> [Int] {
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw .hdf5(file: path, object: datasetPath, operation: "reading the shape") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    // MARK: Attributes

    /// Sets a scalar Double attribute on a group or dataset.
    public func setAttribute(_ name: String, _ value: Double, on objectPath: String) throws(DataError) {
        var value = value
        try setAttribute(name, type: reins_h5t_native_double(), on: objectPath) { withUnsafeBytes(of: &value) { $0.baseAddress! } }
    }

    /// Sets a scalar Int attribute on a group or dataset.
    public func setAttribute(_ name: String, _ value: Int, on objectPath: String) throws(DataError) {
        var value = Int64(value)
        try setAttribute(name, type: reins_h5t_native_int64(), on: objectPath) { withUnsafeBytes(of: &value) { $0.baseAddress! } }
    }

    /// Sets a fixed-length UTF-8 string attribute on a group or dataset (h5py reads it as bytes or str).
    public func setAttribute(_ name: String, _ value: String, on objectPath: String) throws(DataError) {
        var bytes = Array(value.utf8)
        if bytes.isEmpty { bytes = [0] }
        let type = H5Tcopy(reins_h5t_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, bytes.count)
        H5Tset_cset(type, H5T_CSET_UTF8)
        try setAttribute(name, type: type, on: objectPath) { bytes.withUnsafeBytes { $0.baseAddress! } }
    }

    private func setAttribute(_ name: String, type: hid_t, on objectPath: String,
                              value: () -> UnsafeRawPointer) throws(DataError) {
        let object = H5Oopen(id, objectPath, reins_h5p_default())
        guard object >= 0 else { throw .hdf5(file: path, object: objectPath, operation: "opening for attribute \(name)") }
        defer { H5Oclose(object) }
        if H5Aexists(object, name) > 0 { H5Adelete(object, name) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(object, name, type, space, reins_h5p_default(), reins_h5p_default())
        guard attribute >= 0 else { throw .hdf5(file: path, object: "\(objectPath)@\(name)", operation: "creating the attribute") }
        defer { H5Aclose(attribute) }
        guard H5Awrite(attribute, type, value()) >= 0 else {
            throw .hdf5(file: path, object: "\(objectPath)@\(name)", operation: "writing the attribute")
        }
    }

    public func doubleAttribute(_ name: String, on objectPath: String) throws(DataError) -> Double {
        var value = 0.0
        try readAttribute(name, on: objectPath, type: reins_h5t_native_double(), into: &value)
        return value
    }

    public func intAttribute(_ name: String, on objectPath: String) throws(DataError) -> Int {
        var value: Int64 = 0
        try readAttribute(name, on: objectPath, type: reins_h5t_native_int64(), into: &value)
        return Int(value)
    }

    public func stringAttribute(_ name: String, on objectPath: String) throws(DataError) -> String {
        let attribute = try openAttribute(name, on: objectPath)
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        guard H5Tget_class(stored) == H5T_STRING, H5Tis_variable_str(stored) == 0 else {
            throw .typeMismatch(file: path, object: "\(objectPath)@\(name)", expected: "a fixed-length string")
        }
        var bytes = [UInt8](repeating: 0, count: H5Tget_size(stored))
        guard bytes.withUnsafeMutableBytes({ H5Aread(attribute, stored, $0.baseAddress) }) >= 0 else {
            throw .hdf5(file: path, object: "\(objectPath)@\(name)", operation: "reading the attribute")
        }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    private func readAttribute<Value>(_ name: String, on objectPath: String, type: hid_t, into value: inout Value) throws(DataError) {
        let attribute = try openAttribute(name, on: objectPath)
        defer { H5Aclose(attribute) }
        guard withUnsafeMutableBytes(of: &value, { H5Aread(attribute, type, $0.baseAddress) }) >= 0 else {
            throw .hdf5(file: path, object: "\(objectPath)@\(name)", operation: "reading the attribute")
        }
    }

    private func openAttribute(_ name: String, on objectPath: String) throws(DataError) -> hid_t {
        let attribute = H5Aopen_by_name(id, objectPath, name, reins_h5p_default(), reins_h5p_default())
        guard attribute >= 0 else { throw .hdf5(file: path, object: "\(objectPath)@\(name)", operation: "opening the attribute") }
        return attribute
    }

    /// The HDF5 library version, e.g. "1.10.8".
    public static var libraryVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// Whether this HDF5 build can gzip datasets (episode images need it).
    public static var hasGzip: Bool {
        H5open()
        return H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0
    }
}
