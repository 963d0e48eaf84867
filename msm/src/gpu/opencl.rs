//! The OpenCL side of the GPU backend: finding a device, building the kernels of
//! `msm.cl`, moving buffers and running the three bucket passes. The only module of zkroll
//! with `unsafe` code: OpenCL's C API (through `opencl3`) cannot check buffer sizes or kernel
//! argument types, so each call states why its arguments are right.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::Mutex;

use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::{Device, CL_DEVICE_TYPE_ALL, CL_DEVICE_TYPE_GPU};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::platform::get_platforms;
use opencl3::program::Program;
use opencl3::types::{cl_uint, CL_BLOCKING};

use super::plan::Plan;
use super::{DeviceChoice, GpuError};

/// Limbs of one Jacobian point in device buffers.
const JACOBIAN_LIMBS: usize = 24;
/// Limbs of one affine point in device buffers.
pub(crate) const AFFINE_LIMBS: usize = 16;

fn cl(what: &'static str) -> impl Fn(opencl3::error_codes::ClError) -> GpuError {
    move |e| GpuError::OpenCl { what, code: e.0 }
}

struct Kernels {
    queue: CommandQueue,
    to_montgomery: Kernel,
    bucket_partials: Kernel,
    bucket_sums: Kernel,
    window_segments: Kernel,
}

/// An OpenCL device with the MSM kernels built for it.
pub(crate) struct OpenClDevice {
    name: String,
    is_gpu: bool,
    max_alloc: u64,
    // Field order: the kernels and queue go before the context they belong to.
    kernels: Mutex<Kernels>,
    _program: Program,
    context: Context,
}

impl std::fmt::Debug for OpenClDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenClDevice")
            .field("name", &self.name)
            .field("is_gpu", &self.is_gpu)
            .finish()
    }
}

/// The first device of the kind asked for, over every platform (a platform without such a
/// device is skipped, not an error).
fn find_device(choice: DeviceChoice) -> Result<Device, GpuError> {
    let platforms = get_platforms().map_err(|e| {
        if e.0 == opencl3::error_codes::DLOPEN_RUNTIME_LOAD_FAILED {
            GpuError::NoRuntime
        } else {
            cl("listing OpenCL platforms")(e)
        }
    })?;
    let mut any = None;
    for platform in &platforms {
        if let Ok(ids) = platform.get_devices(CL_DEVICE_TYPE_GPU) {
            if let Some(id) = ids.first() {
                return Ok(Device::new(*id));
            }
        }
        if any.is_none() {
            if let Ok(ids) = platform.get_devices(CL_DEVICE_TYPE_ALL) {
                any = ids.first().copied();
            }
        }
    }
    match (choice, any) {
        (DeviceChoice::Any, Some(id)) => Ok(Device::new(id)),
        (DeviceChoice::GpuOnly, Some(_)) => Err(GpuError::NoDevice(
            "no GPU device (only CPU OpenCL devices)",
        )),
        (_, None) => Err(GpuError::NoDevice("no OpenCL device")),
    }
}

impl OpenClDevice {
    /// Opens a device and builds `source` for it.
    pub(crate) fn open(choice: DeviceChoice, source: &str) -> Result<Self, GpuError> {
        let device = find_device(choice)?;
        let name = device.name().map_err(cl("reading the device name"))?;
        let is_gpu = device
            .dev_type()
            .map(|t| t & CL_DEVICE_TYPE_GPU != 0)
            .map_err(cl("reading the device type"))?;
        let max_alloc = device
            .max_mem_alloc_size()
            .map_err(cl("reading the device's allocation limit"))?;
        let context = Context::from_device(&device).map_err(cl("creating a context"))?;
        let queue =
            CommandQueue::create_default(&context, 0).map_err(cl("creating a command queue"))?;
        let program = Program::create_and_build_from_source(&context, source, "")
            .map_err(|log| GpuError::Build(log.lines().take(20).collect::<Vec<_>>().join(" | ")))?;
        let kernel = |name: &'static str| Kernel::create(&program, name).map_err(cl(name));
        let kernels = Kernels {
            to_montgomery: kernel("to_montgomery")?,
            bucket_partials: kernel("bucket_partials")?,
            bucket_sums: kernel("bucket_sums")?,
            window_segments: kernel("window_segments")?,
            queue,
        };
        Ok(Self {
            name,
            is_gpu,
            max_alloc,
            kernels: Mutex::new(kernels),
            _program: program,
            context,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn is_gpu(&self) -> bool {
        self.is_gpu
    }

    /// A read-only or read-write device buffer holding a copy of `data` (never empty: OpenCL
    /// has no zero-sized buffers, so an empty slice gets one zero word).
    fn upload(
        &self,
        data: &[u32],
        what: &'static str,
        writable: bool,
    ) -> Result<Buffer<u32>, GpuError> {
        let one = [0u32];
        let data = if data.is_empty() { &one[..] } else { data };
        self.check_alloc(data.len(), what)?;
        let flags = if writable {
            CL_MEM_READ_WRITE
        } else {
            CL_MEM_READ_ONLY
        } | CL_MEM_COPY_HOST_PTR;
        // SAFETY: with CL_MEM_COPY_HOST_PTR the runtime copies `data.len()` u32 words from the
        // pointer during this call and never writes through it; `data` is live and that long.
        unsafe {
            Buffer::<u32>::create(
                &self.context,
                flags,
                data.len(),
                data.as_ptr() as *mut c_void,
            )
        }
        .map_err(cl(what))
    }

    /// An uninitialised read-write device buffer of `len` words (`len > 0`).
    fn scratch(&self, len: usize, what: &'static str) -> Result<Buffer<u32>, GpuError> {
        self.check_alloc(len, what)?;
        // SAFETY: no host pointer is given (null with no host-pointer flag); every kernel
        // writes the words it later reads back before reading them.
        unsafe {
            Buffer::<u32>::create(
                &self.context,
                CL_MEM_READ_WRITE,
                len.max(1),
                std::ptr::null_mut(),
            )
        }
        .map_err(cl(what))
    }

    fn check_alloc(&self, words: usize, what: &'static str) -> Result<(), GpuError> {
        let bytes = words as u64 * 4;
        if bytes > self.max_alloc {
            return Err(GpuError::TooLarge {
                what,
                bytes,
                limit: self.max_alloc,
            });
        }
        Ok(())
    }

    /// Runs the three bucket passes of `plan` over `points` (canonical affine coordinates,
    /// 16 limbs per point, all finite) and returns, per (window, segment), the affine pair
    /// (acc, running) described in `msm.cl`, 32 limbs each.
    pub(crate) fn segments(&self, points: &[u32], plan: &Plan) -> Result<Vec<u32>, GpuError> {
        let as_uint = |v: usize, what: &'static str| {
            cl_uint::try_from(v).map_err(|_| GpuError::TooLarge {
                what,
                bytes: v as u64,
                limit: u64::from(cl_uint::MAX),
            })
        };
        let elements = as_uint(points.len() / 8, "field elements")?;
        let tasks = as_uint(plan.task_start.len(), "tasks")?;
        let buckets = as_uint(plan.bucket_count(), "buckets")?;
        let per_window = as_uint(plan.buckets_per_window, "buckets per window")?;
        let seg_len = as_uint(plan.segment_len, "segment length")?;
        let segments = as_uint(plan.segment_count(), "segments")?;

        let points_buf = self.upload(points, "points", true)?;
        let entries = self.upload(&plan.entries, "bucket entries", false)?;
        let task_start = self.upload(&plan.task_start, "task starts", false)?;
        let task_len = self.upload(&plan.task_len, "task lengths", false)?;
        let bucket_tasks = self.upload(&plan.bucket_tasks, "bucket task offsets", false)?;
        let partials = self.scratch(plan.task_start.len() * JACOBIAN_LIMBS, "partial sums")?;
        let bucket_buf = self.scratch(plan.bucket_count() * JACOBIAN_LIMBS, "bucket sums")?;
        let out = self.scratch(plan.segment_count() * 2 * AFFINE_LIMBS, "segment sums")?;

        let k = self.kernels.lock().map_err(|_| GpuError::Poisoned)?;
        // SAFETY: (all four launches) each kernel's arguments are given in the order and with
        // the types of its declaration in msm.cl (global uint buffers, then uint counts); the
        // buffers hold at least the words the kernel touches for `gid < count` (sizes above:
        // 8 per element, 16 per point indexed by an entry < n, 24 per task/bucket, 32 per
        // segment; `bucket_tasks` has buckets + 1 words and `entries` covers every task's
        // range, both built by `Plan`), and each kernel returns early for `gid >= count`.
        unsafe {
            ExecuteKernel::new(&k.to_montgomery)
                .set_arg(&points_buf)
                .set_arg(&elements)
                .set_global_work_size(elements as usize)
                .enqueue_nd_range(&k.queue)
                .map_err(cl("to_montgomery"))?;
            if tasks > 0 {
                ExecuteKernel::new(&k.bucket_partials)
                    .set_arg(&points_buf)
                    .set_arg(&entries)
                    .set_arg(&task_start)
                    .set_arg(&task_len)
                    .set_arg(&partials)
                    .set_arg(&tasks)
                    .set_global_work_size(tasks as usize)
                    .enqueue_nd_range(&k.queue)
                    .map_err(cl("bucket_partials"))?;
            }
            ExecuteKernel::new(&k.bucket_sums)
                .set_arg(&partials)
                .set_arg(&bucket_tasks)
                .set_arg(&bucket_buf)
                .set_arg(&buckets)
                .set_global_work_size(buckets as usize)
                .enqueue_nd_range(&k.queue)
                .map_err(cl("bucket_sums"))?;
            ExecuteKernel::new(&k.window_segments)
                .set_arg(&bucket_buf)
                .set_arg(&per_window)
                .set_arg(&seg_len)
                .set_arg(&out)
                .set_arg(&segments)
                .set_global_work_size(segments as usize)
                .enqueue_nd_range(&k.queue)
                .map_err(cl("window_segments"))?;
        }
        k.queue.finish().map_err(cl("running the kernels"))?;
        let mut result = vec![0u32; plan.segment_count() * 2 * AFFINE_LIMBS];
        // SAFETY: a blocking read of `result.len()` words from `out`, which has exactly that
        // many; the queue is finished, so no kernel still writes it.
        unsafe {
            k.queue
                .enqueue_read_buffer(&out, CL_BLOCKING, 0, &mut result, &[])
        }
        .map_err(cl("reading the segment sums"))?;
        Ok(result)
    }
}
