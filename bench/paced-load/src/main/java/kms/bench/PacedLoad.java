package kms.bench;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Paced unary gRPC calls from the JVM: the bench's paced rows (bench/java-paced-load.ts). Reads one job as
 * JSON on standard input (address, method path, requests as base64 protobuf, metadata, rate, lanes,
 * warm-up, seconds, deadline), prints one result as JSON. Call k is due at start + k / rate; a free
 * lane sends it (at most `lanes` in flight) and its latency counts from when it was due, or from when
 * it was sent if that was earlier (no coordinated omission). Only calls completed inside the measured
 * window count. The messages are opaque bytes: the same requests the Node.js generator sends.
 */
public final class PacedLoad {
  private static final class Job {
    String address;
    String path;
    String[] requests;
    Map<String, String> metadata;
    double ratePerSecond;
    int lanes;
    double warmupSeconds;
    double seconds;
    long deadlineMs;
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  };

  public static void main(String[] args) throws Exception {
    Job job = new Gson().fromJson(new InputStreamReader(System.in, StandardCharsets.UTF_8), Job.class);
    byte[][] requests = Arrays.stream(job.requests).map(r -> Base64.getDecoder().decode(r)).toArray(byte[][]::new);
    Metadata headers = new Metadata();
    for (Map.Entry<String, String> h : job.metadata.entrySet()) headers.put(Metadata.Key.of(h.getKey(), Metadata.ASCII_STRING_MARSHALLER), h.getValue());
    MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(job.path)
        .setRequestMarshaller(BYTES)
        .setResponseMarshaller(BYTES)
        .build();
    ManagedChannel channel = NettyChannelBuilder.forTarget(job.address).usePlaintext().directExecutor().build();

    long period = Math.round(1e9 / job.ratePerSecond);
    long start = System.nanoTime() + 50_000_000L;
    long measureFrom = start + Math.round(job.warmupSeconds * 1e9);
    long stopAt = measureFrom + Math.round(job.seconds * 1e9);
    long[] latencies = new long[(int) Math.ceil(job.ratePerSecond * (job.warmupSeconds + job.seconds)) + 16];
    AtomicInteger measured = new AtomicInteger();
    AtomicLong totalCalls = new AtomicLong();
    AtomicInteger failedCalls = new AtomicInteger();
    AtomicReference<String> firstError = new AtomicReference<>();
    Semaphore lanes = new Semaphore(job.lanes);
    long cpuBefore = processCpuNanos();

    int sent = 0;
    for (long k = 0; ; k++) {
      long due = start + k * period;
      if (due >= stopAt) break;
      // Parked, never spinning: a spinning client would take a core's share from the server and
      // PostgreSQL on a small machine. A wake-up late by the timer's slack counts against the call.
      long wait;
      while ((wait = due - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
      lanes.acquireUninterruptibly();
      long from = Math.min(due, System.nanoTime());
      ClientCall<byte[], byte[]> call = channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(job.deadlineMs, TimeUnit.MILLISECONDS));
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          long done = System.nanoTime();
          lanes.release();
          if (status.isOk()) totalCalls.incrementAndGet();
          if (done < measureFrom || done > stopAt) return;
          if (!status.isOk()) {
            failedCalls.incrementAndGet();
            firstError.compareAndSet(null, status.getCode() + ": " + status.getDescription());
            return;
          }
          int i = measured.getAndIncrement();
          if (i < latencies.length) latencies[i] = done - from;
        }
      }, copyOf(headers));
      call.request(1);
      call.sendMessage(requests[sent++ % requests.length]);
      call.halfClose();
    }
    // Wait for the calls in flight (their deadline at most).
    lanes.tryAcquire(job.lanes, job.deadlineMs + 1000, TimeUnit.MILLISECONDS);
    long cpu = processCpuNanos() - cpuBefore;
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    int n = Math.min(measured.get(), latencies.length);
    long[] sorted = Arrays.copyOf(latencies, n);
    Arrays.sort(sorted);
    JsonObject out = new JsonObject();
    out.addProperty("totalCalls", totalCalls.get());
    out.addProperty("calls", n);
    if (n > 0) {
      out.addProperty("p50Ms", percentile(sorted, 50) / 1e6);
      out.addProperty("p99Ms", percentile(sorted, 99) / 1e6);
    }
    out.addProperty("failedCalls", failedCalls.get());
    out.addProperty("clientCpuUsPerCall", cpu / 1e3 / Math.max(1, totalCalls.get()));
    if (firstError.get() != null) out.addProperty("firstError", firstError.get());
    System.out.println(out);
  }

  /** Metadata is not safe to share between calls (grpc-java serialises it lazily): a fresh copy per call, as a client builds it per call. */
  private static Metadata copyOf(Metadata headers) {
    Metadata copy = new Metadata();
    copy.merge(headers);
    return copy;
  }

  /** Nearest rank, as bench/load-job.ts percentile. */
  private static double percentile(long[] sorted, double p) {
    if (sorted.length == 0) return Double.NaN;
    int i = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
    return sorted[i];
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }
}
