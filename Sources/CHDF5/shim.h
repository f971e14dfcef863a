// HDF5 1.10 (serial). Its type ids and property-list classes are macros over globals that need
// H5open() first, and its flags are cast macros: each one Reins uses is wrapped here.
#include <hdf5/serial/hdf5.h>

static inline hid_t reins_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t reins_h5s_all(void) { return H5S_ALL; }
static inline hid_t reins_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t reins_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t reins_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t reins_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t reins_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t reins_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t reins_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline unsigned reins_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned reins_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned reins_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
/// Silences HDF5's own stack printing: Reins reports errors itself, naming file and dataset.
static inline void reins_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
