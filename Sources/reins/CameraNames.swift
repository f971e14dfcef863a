import ArgumentParser
import Foundation

/// `--cameras front,wrist`, split at the commas with spaces trimmed; `checkCameraNames` refuses
/// what is left wrong, so every command that takes the option reads it alike.
func splitCameraNames(_ text: String) -> [String] {
    text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
}

/// Refuses no names, an empty one, or one named twice.
func checkCameraNames(_ names: [String]) throws {
    guard !names.isEmpty, !names.contains(""), Set(names).count == names.count else {
        throw ValidationError("--cameras takes distinct camera names separated by commas, e.g. front,wrist")
    }
}
