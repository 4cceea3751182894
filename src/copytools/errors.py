"""The pilot's error codes on the transfer path, and the exceptions that carry them."""

from __future__ import annotations


class ErrorCodes:
    """Pilot error numbers (same values as the PanDA pilot; the server and monitor rely on them)."""

    NOLOCALSPACE = 1098
    STAGEINFAILED = 1099
    REPLICANOTFOUND = 1100
    NOSUCHFILE = 1103
    NOSTORAGE = 1133
    STAGEOUTFAILED = 1137
    PUTMD5MISMATCH = 1141
    GETMD5MISMATCH = 1145
    STAGEINTIMEOUT = 1151
    STAGEOUTTIMEOUT = 1152
    NOPROXY = 1163
    MISSINGOUTPUTFILE = 1165
    SIZETOOLARGE = 1168
    GETADMISMATCH = 1171
    PUTADMISMATCH = 1172
    GETGLOBUSSYSERR = 1180
    PUTGLOBUSSYSERR = 1181
    ZEROFILESIZE = 1191
    MKDIR = 1199
    FILEEXISTS = 1221
    CHKSUMNOTSUP = 1242
    UNKNOWNEXCEPTION = 1301
    FILEHANDLINGFAILURE = 1303
    NOSTORAGEPROTOCOL = 1313
    UNKNOWNCHECKSUMTYPE = 1314
    RUCIOSERVICEUNAVAILABLE = 1316
    INTERNALPILOTPROBLEM = 1319
    LOGFILECREATIONFAILURE = 1320
    RUCIOLOCATIONFAILED = 1321
    RUCIOLISTREPLICASFAILED = 1322
    UNKNOWNCOPYTOOL = 1323
    SERVICENOTAVAILABLE = 1324
    NOREPLICAS = 1326
    UNREACHABLENETWORK = 1327
    NONDETERMINISTICDDM = 1329
    MISSINGINPUTFILE = 1331
    NOREMOTESPACE = 1333
    STAGEINAUTHENTICATIONFAILURE = 1338
    BADQUEUECONFIGURATION = 1341
    XRDCPERROR = 1362
    MISSINGCREDENTIALS = 1364
    CHECKSUMCALCFAILURE = 1366
    COMMANDTIMEDOUT = 1367
    LOGCREATIONTIMEOUT = 1376
    STAGEOUTAUTHENTICATIONFAILURE = 1383


MESSAGES: dict[int, str] = {
    ErrorCodes.NOLOCALSPACE: "Not enough local space",
    ErrorCodes.STAGEINFAILED: "Failed to stage-in file",
    ErrorCodes.REPLICANOTFOUND: "Replica not found",
    ErrorCodes.NOSUCHFILE: "No such file or directory",
    ErrorCodes.NOSTORAGE: "No storage defined for the activity",
    ErrorCodes.STAGEOUTFAILED: "Failed to stage-out file",
    ErrorCodes.PUTMD5MISMATCH: "md5 checksum mismatch on an output file",
    ErrorCodes.GETMD5MISMATCH: "md5 checksum mismatch on an input file",
    ErrorCodes.STAGEINTIMEOUT: "Transfer timed out during stage-in",
    ErrorCodes.STAGEOUTTIMEOUT: "Transfer timed out during stage-out",
    ErrorCodes.NOPROXY: "Grid proxy not valid",
    ErrorCodes.MISSINGOUTPUTFILE: "Local output file is missing",
    ErrorCodes.SIZETOOLARGE: "Total input file size too large",
    ErrorCodes.GETADMISMATCH: "adler32 checksum mismatch on an input file",
    ErrorCodes.PUTADMISMATCH: "adler32 checksum mismatch on an output file",
    ErrorCodes.GETGLOBUSSYSERR: "Globus system error during stage-in",
    ErrorCodes.PUTGLOBUSSYSERR: "Globus system error during stage-out",
    ErrorCodes.ZEROFILESIZE: "File size is zero",
    ErrorCodes.MKDIR: "Failed to create directory",
    ErrorCodes.FILEEXISTS: "File already exists",
    ErrorCodes.CHKSUMNOTSUP: "Checksum query not supported by the storage",
    ErrorCodes.UNKNOWNEXCEPTION: "Unknown exception",
    ErrorCodes.FILEHANDLINGFAILURE: "File handling failure",
    ErrorCodes.NOSTORAGEPROTOCOL: "No protocol defined for the storage endpoint",
    ErrorCodes.UNKNOWNCHECKSUMTYPE: "Unknown checksum type",
    ErrorCodes.RUCIOSERVICEUNAVAILABLE: "Rucio service unavailable",
    ErrorCodes.INTERNALPILOTPROBLEM: "Internal problem",
    ErrorCodes.LOGFILECREATIONFAILURE: "Failed to create the log file",
    ErrorCodes.RUCIOLOCATIONFAILED: "Failed to find the client location for Rucio",
    ErrorCodes.RUCIOLISTREPLICASFAILED: "Rucio list_replicas failed",
    ErrorCodes.UNKNOWNCOPYTOOL: "Unknown copytool",
    ErrorCodes.SERVICENOTAVAILABLE: "Service temporarily unavailable",
    ErrorCodes.NOREPLICAS: "No matching replicas found",
    ErrorCodes.UNREACHABLENETWORK: "Network is unreachable",
    ErrorCodes.NONDETERMINISTICDDM: "Cannot build a path for a non-deterministic storage",
    ErrorCodes.MISSINGINPUTFILE: "Input file is missing on the storage",
    ErrorCodes.NOREMOTESPACE: "No space left on the remote storage",
    ErrorCodes.STAGEINAUTHENTICATIONFAILURE: "Authentication failure during stage-in",
    ErrorCodes.BADQUEUECONFIGURATION: "Bad queue configuration",
    ErrorCodes.XRDCPERROR: "xrdcp could not open the file",
    ErrorCodes.MISSINGCREDENTIALS: "Storage credentials are missing",
    ErrorCodes.CHECKSUMCALCFAILURE: "Checksum calculation failed",
    ErrorCodes.COMMANDTIMEDOUT: "Command timed out",
    ErrorCodes.LOGCREATIONTIMEOUT: "Log file creation timed out",
    ErrorCodes.STAGEOUTAUTHENTICATIONFAILURE: "Authentication failure during stage-out",
}


def error_message(code: int) -> str:
    """The standard message for a pilot error code."""
    return MESSAGES.get(code, f"unknown error code: {code}")


class CopytoolsError(Exception):
    """A failure a user can see: a pilot error `code`, a trace `state` and a message."""

    default_code = ErrorCodes.UNKNOWNEXCEPTION
    default_state = ""

    def __init__(
        self, message: str = "", code: int | None = None, state: str | None = None, retry: bool | None = None
    ) -> None:
        self.code = code or self.default_code
        self.state = state if state is not None else self.default_state
        self.message = message or error_message(self.code)
        self.retry = retry  # overrides whether the same route is worth another try
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"error code: {self.code}, details: {self.message}"

    @property
    def retry_route(self) -> bool:
        """Whether the same route may succeed if tried again (a transient failure)."""
        return self.code in TRANSIENT_CODES if self.retry is None else self.retry

    @property
    def next_route(self) -> bool:
        """Whether another route (replica or storage) may succeed where this one failed.

        A corrupt or missing replica, a refusing server or a full remote storage: yes. A full local
        disk, an existing destination or a local directory that cannot be made: no route helps.
        """
        return self.code not in FILE_STOPPING_CODES

    # The pilot's PilotException exposes these accessors; keep them for callers that switch to us.
    def get_error_code(self) -> int:
        """The pilot error code."""
        return self.code

    def get_detail(self) -> str:
        """The message without the code."""
        return self.message


PilotException = CopytoolsError

TRANSIENT_CODES = frozenset(
    {
        ErrorCodes.STAGEINTIMEOUT,
        ErrorCodes.STAGEOUTTIMEOUT,
        ErrorCodes.SERVICENOTAVAILABLE,
        ErrorCodes.RUCIOSERVICEUNAVAILABLE,
        ErrorCodes.UNREACHABLENETWORK,
        ErrorCodes.GETGLOBUSSYSERR,
        ErrorCodes.PUTGLOBUSSYSERR,
    }
)
FILE_STOPPING_CODES = frozenset(
    {
        ErrorCodes.NOLOCALSPACE,
        ErrorCodes.FILEEXISTS,
        ErrorCodes.MKDIR,
        ErrorCodes.NOSUCHFILE,
        ErrorCodes.MISSINGOUTPUTFILE,
        ErrorCodes.ZEROFILESIZE,
        ErrorCodes.UNKNOWNCHECKSUMTYPE,
        ErrorCodes.CHECKSUMCALCFAILURE,
    }
)


class StageInFailure(CopytoolsError):
    """A stage-in could not be done."""

    default_code = ErrorCodes.STAGEINFAILED
    default_state = "STAGEIN_ATTEMPT_FAILED"


class StageOutFailure(CopytoolsError):
    """A stage-out could not be done."""

    default_code = ErrorCodes.STAGEOUTFAILED
    default_state = "STAGEOUT_ATTEMPT_FAILED"


class MKDirFailure(CopytoolsError):
    """A destination directory could not be created."""

    default_code = ErrorCodes.MKDIR


class ReplicasNotFound(CopytoolsError):
    """No usable replica exists for an input file."""

    default_code = ErrorCodes.NOREPLICAS
    default_state = "NO_REPLICA"


class NoLocalSpace(CopytoolsError):
    """Not enough free space in the work directory."""

    default_code = ErrorCodes.NOLOCALSPACE
    default_state = "NO_SPACE"


class SizeTooLarge(CopytoolsError):
    """The inputs together exceed the queue's limit."""

    default_code = ErrorCodes.SIZETOOLARGE


class UnknownCopytool(CopytoolsError):
    """No copytool of that name, or none for the activity."""

    default_code = ErrorCodes.UNKNOWNCOPYTOOL
    default_state = "BAD_COPYTOOL"


class NoStorage(CopytoolsError):
    """No storage for the activity, or a storage name the site does not describe."""

    default_code = ErrorCodes.NOSTORAGE
    default_state = "NO_ASTORAGES_DEFINED"


class NoStorageProtocol(CopytoolsError):
    """No protocol of the storage matches the copytool's schemas."""

    default_code = ErrorCodes.NOSTORAGEPROTOCOL


class MissingOutputFile(CopytoolsError):
    """An output file to stage out is not there."""

    default_code = ErrorCodes.MISSINGOUTPUTFILE
    default_state = "FILE_INFO_FAIL"


class ZeroFileSize(CopytoolsError):
    """An output file to stage out is empty."""

    default_code = ErrorCodes.ZEROFILESIZE
    default_state = "ZERO_FILE_SIZE"


class BadJobDescription(CopytoolsError):
    """A PanDA job description that cannot be turned into file specs."""

    default_code = ErrorCodes.STAGEINFAILED
    default_state = "BAD_JOB_DESCRIPTION"


class BadSiteDescription(CopytoolsError):
    """A queue or storage description that cannot be used."""

    default_code = ErrorCodes.BADQUEUECONFIGURATION
    default_state = "BAD_SITE_DESCRIPTION"


class UnsafeName(CopytoolsError):
    """A file name that could escape the work directory or be read as an option."""

    default_code = ErrorCodes.STAGEINFAILED
    default_state = "UNSAFE_NAME"


class ChecksumError(CopytoolsError):
    """A checksum could not be computed or has an unknown type."""

    default_code = ErrorCodes.CHECKSUMCALCFAILURE
    default_state = "CHECKSUMCALCULATIONFAILURE"
