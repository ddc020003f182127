// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Aave Governance V3 on one chain, replicating bgd-labs/aave-governance-v3 (GovernanceCore.sol,
// PayloadsControllerCore.sol, PayloadsController.sol, VotingPortal.sol, payloads/Executor.sol) for what defiscope
// reads: the same function and event signatures as the address book's IGovernanceCore / IPayloadsControllerCore /
// IVotingPortal, the same state machines (Created -> Active -> Queued -> Executed | Failed | Cancelled | Expired;
// payload Created -> Queued -> Executed | Cancelled | Expired), the same access control (only the proposal's voting
// portal queues it, only the guardian cancels a payload, only the PayloadsController drives an executor).
// Differences, all devnet-only: no CrossChainController (the governance hands a same-chain payload straight to the
// PayloadsController's receiveCrossChainMessage, and the portal's owner plays the bridge that brings a vote result
// back), proposition power is the AAVE token's own (AaveTokenV2.getPowerCurrent(user, 1)) instead of a power
// strategy over AAVE + stkAAVE + aAAVE, and the virtual minimum voting duration and execution delay are seconds
// (mainnet: 3 days, 1 day) because the devnet's clock moves one second a block.

library PayloadsControllerUtils {
  enum AccessControl {
    Level_null,
    Level_1,
    Level_2
  }

  struct Payload {
    uint256 chain;
    AccessControl accessLevel;
    address payloadsController;
    uint40 payloadId;
  }
}

interface IPropositionPower {
  function getPowerCurrent(address user, uint8 delegationType) external view returns (uint256);
}

interface IVotingPortalStart {
  function forwardStartVotingMessage(uint256 proposalId, bytes32 blockHash, uint24 votingDuration) external;
}

interface IGovernanceQueue {
  function queueProposal(uint256 proposalId, uint128 forVotes, uint128 againstVotes) external;
}

interface IPayloadMessageReceiver {
  function receiveCrossChainMessage(address originSender, uint256 originChainId, bytes memory message) external;
}

contract AaveGovernanceCore {
  enum State {
    Null,
    Created,
    Active,
    Queued,
    Executed,
    Failed,
    Cancelled,
    Expired
  }

  struct VotingConfig {
    uint24 coolDownBeforeVotingStart;
    uint24 votingDuration;
    uint56 yesThreshold;
    uint56 yesNoDifferential;
    uint56 minPropositionPower;
  }

  struct SetVotingConfigInput {
    PayloadsControllerUtils.AccessControl accessLevel;
    uint24 coolDownBeforeVotingStart;
    uint24 votingDuration;
    uint256 yesThreshold;
    uint256 yesNoDifferential;
    uint256 minPropositionPower;
  }

  struct Proposal {
    State state;
    PayloadsControllerUtils.AccessControl accessLevel;
    uint40 creationTime;
    uint24 votingDuration;
    uint40 votingActivationTime;
    uint40 queuingTime;
    uint40 cancelTimestamp;
    address creator;
    address votingPortal;
    bytes32 snapshotBlockHash;
    bytes32 ipfsHash;
    uint128 forVotes;
    uint128 againstVotes;
    uint256 cancellationFee;
    PayloadsControllerUtils.Payload[] payloads;
  }

  event ProposalCreated(
    uint256 indexed proposalId,
    address indexed creator,
    PayloadsControllerUtils.AccessControl indexed accessLevel,
    bytes32 ipfsHash
  );
  event VotingActivated(uint256 indexed proposalId, bytes32 indexed snapshotBlockHash, uint24 votingDuration);
  event ProposalQueued(uint256 indexed proposalId, uint128 votesFor, uint128 votesAgainst);
  event ProposalExecuted(uint256 indexed proposalId);
  event ProposalCanceled(uint256 indexed proposalId);
  event ProposalFailed(uint256 indexed proposalId, uint128 votesFor, uint128 votesAgainst);
  event VotingPortalUpdated(address indexed votingPortal, bool indexed approved);
  event PayloadSent(
    uint256 indexed proposalId,
    uint40 payloadId,
    address indexed payloadsController,
    uint256 indexed chainId,
    uint256 payloadNumberOnProposal,
    uint256 numberOfPayloadsOnProposal
  );
  event VotingConfigUpdated(
    PayloadsControllerUtils.AccessControl indexed accessLevel,
    uint24 votingDuration,
    uint24 coolDownBeforeVotingStart,
    uint256 yesThreshold,
    uint256 yesNoDifferential,
    uint256 minPropositionPower
  );

  string public constant NAME = "Aave Governance v3";
  uint256 public constant PRECISION_DIVIDER = 1 ether;
  uint256 public constant PROPOSAL_EXPIRATION_TIME = 30 days;
  uint256 public immutable COOLDOWN_PERIOD;
  address public immutable CANCELLATION_FEE_COLLECTOR;

  address internal _owner;
  address internal _guardian;
  address internal _powerStrategy;
  uint256 internal _proposalsCount;
  uint256 internal _cancellationFee;
  mapping(address => bool) internal _votingPortals;
  uint256 internal _votingPortalsCount;
  mapping(uint256 => Proposal) internal _proposals;
  mapping(PayloadsControllerUtils.AccessControl => VotingConfig) internal _votingConfigs;

  constructor(
    uint256 coolDownPeriod,
    address cancellationFeeCollector,
    address powerStrategy,
    SetVotingConfigInput[] memory votingConfigs
  ) {
    require(cancellationFeeCollector != address(0), "INVALID_CANCELLATION_FEE_COLLECTOR");
    COOLDOWN_PERIOD = coolDownPeriod;
    CANCELLATION_FEE_COLLECTOR = cancellationFeeCollector;
    _owner = msg.sender;
    _guardian = msg.sender;
    _powerStrategy = powerStrategy;
    require(votingConfigs.length == 2, "MISSING_VOTING_CONFIGURATIONS");
    _setVotingConfigs(votingConfigs);
  }

  modifier onlyOwner() {
    require(msg.sender == _owner, "ONLY_BY_OWNER");
    _;
  }

  function ACHIEVABLE_VOTING_PARTICIPATION() public pure returns (uint256) {
    return 5_000_000 ether;
  }

  // Mainnet: 3 days (virtual in GovernanceCore); the devnet's clock moves a second a block.
  function MIN_VOTING_DURATION() public pure returns (uint256) {
    return 10;
  }

  function getCancellationFee() external view returns (uint256) {
    return _cancellationFee;
  }

  function getPowerStrategy() external view returns (address) {
    return _powerStrategy;
  }

  function getProposalsCount() external view returns (uint256) {
    return _proposalsCount;
  }

  function getVotingPortalsCount() external view returns (uint256) {
    return _votingPortalsCount;
  }

  function isVotingPortalApproved(address votingPortal) public view returns (bool) {
    return _votingPortals[votingPortal];
  }

  function addVotingPortals(address[] calldata votingPortals) external onlyOwner {
    for (uint256 i = 0; i < votingPortals.length; i++) {
      require(votingPortals[i] != address(0), "INVALID_VOTING_PORTAL_ADDRESS");
      if (_votingPortals[votingPortals[i]]) continue;
      _votingPortals[votingPortals[i]] = true;
      _votingPortalsCount++;
      emit VotingPortalUpdated(votingPortals[i], true);
    }
  }

  function setVotingConfigs(SetVotingConfigInput[] calldata votingConfigs) external onlyOwner {
    _setVotingConfigs(votingConfigs);
  }

  function getVotingConfig(
    PayloadsControllerUtils.AccessControl accessLevel
  ) external view returns (VotingConfig memory) {
    return _votingConfigs[accessLevel];
  }

  function createProposal(
    PayloadsControllerUtils.Payload[] calldata payloads,
    address votingPortal,
    bytes32 ipfsHash
  ) external payable returns (uint256) {
    require(payloads.length != 0, "AT_LEAST_ONE_PAYLOAD");
    require(ipfsHash != bytes32(0), "G_INVALID_IPFS_HASH");
    require(msg.value == _cancellationFee, "INVALID_CANCELLATION_FEE_SENT");
    require(isVotingPortalApproved(votingPortal), "VOTING_PORTAL_NOT_APPROVED");

    uint256 proposalId = _proposalsCount++;
    Proposal storage proposal = _proposals[proposalId];
    PayloadsControllerUtils.AccessControl maximumAccessLevelRequired;
    for (uint256 i = 0; i < payloads.length; i++) {
      require(payloads[i].accessLevel > PayloadsControllerUtils.AccessControl.Level_null, "G_INVALID_PAYLOAD_ACCESS_LEVEL");
      require(payloads[i].payloadsController != address(0), "G_INVALID_PAYLOADS_CONTROLLER");
      require(payloads[i].chain > 0, "G_INVALID_PAYLOAD_CHAIN");
      proposal.payloads.push(payloads[i]);
      if (payloads[i].accessLevel > maximumAccessLevelRequired) {
        maximumAccessLevelRequired = payloads[i].accessLevel;
      }
    }
    VotingConfig memory votingConfig = _votingConfigs[maximumAccessLevelRequired];
    require(_isPropositionPowerEnough(votingConfig, msg.sender), "PROPOSITION_POWER_IS_TOO_LOW");

    proposal.state = State.Created;
    proposal.creator = msg.sender;
    proposal.accessLevel = maximumAccessLevelRequired;
    proposal.votingPortal = votingPortal;
    proposal.creationTime = uint40(block.timestamp);
    proposal.ipfsHash = ipfsHash;
    proposal.cancellationFee = msg.value;
    emit ProposalCreated(proposalId, msg.sender, maximumAccessLevelRequired, ipfsHash);
    return proposalId;
  }

  function activateVoting(uint256 proposalId) external {
    Proposal storage proposal = _proposals[proposalId];
    VotingConfig memory votingConfig = _votingConfigs[proposal.accessLevel];
    bytes32 blockHash = blockhash(block.number - 1);
    require(_getProposalState(proposal) == State.Created, "PROPOSAL_NOT_IN_CREATED_STATE");
    require(isVotingPortalApproved(proposal.votingPortal), "VOTING_PORTAL_NOT_APPROVED");
    require(
      block.timestamp - proposal.creationTime > votingConfig.coolDownBeforeVotingStart,
      "VOTING_START_COOLDOWN_PERIOD_NOT_PASSED"
    );
    require(_isPropositionPowerEnough(votingConfig, proposal.creator), "PROPOSITION_POWER_IS_TOO_LOW");

    proposal.votingActivationTime = uint40(block.timestamp);
    proposal.snapshotBlockHash = blockHash;
    proposal.state = State.Active;
    proposal.votingDuration = votingConfig.votingDuration;
    IVotingPortalStart(proposal.votingPortal).forwardStartVotingMessage(proposalId, blockHash, proposal.votingDuration);
    emit VotingActivated(proposalId, blockHash, votingConfig.votingDuration);
  }

  function queueProposal(uint256 proposalId, uint128 forVotes, uint128 againstVotes) external {
    Proposal storage proposal = _proposals[proposalId];
    address votingPortal = proposal.votingPortal;
    require(msg.sender == votingPortal && isVotingPortalApproved(votingPortal), "CALLER_NOT_A_VALID_VOTING_PORTAL");
    require(_getProposalState(proposal) == State.Active, "PROPOSAL_NOT_IN_ACTIVE_STATE");
    require(block.timestamp > proposal.votingDuration + proposal.votingActivationTime, "VOTING_DURATION_NOT_PASSED");

    VotingConfig memory votingConfig = _votingConfigs[proposal.accessLevel];
    proposal.forVotes = forVotes;
    proposal.againstVotes = againstVotes;
    if (
      _isPropositionPowerEnough(votingConfig, proposal.creator) &&
      forVotes > votingConfig.yesThreshold * PRECISION_DIVIDER &&
      forVotes >= againstVotes &&
      forVotes - againstVotes > votingConfig.yesNoDifferential * PRECISION_DIVIDER
    ) {
      proposal.queuingTime = uint40(block.timestamp);
      proposal.state = State.Queued;
      emit ProposalQueued(proposalId, forVotes, againstVotes);
    } else {
      proposal.state = State.Failed;
      emit ProposalFailed(proposalId, forVotes, againstVotes);
    }
  }

  function executeProposal(uint256 proposalId) external {
    Proposal storage proposal = _proposals[proposalId];
    require(_getProposalState(proposal) == State.Queued, "PROPOSAL_NOT_IN_QUEUED_STATE");
    require(block.timestamp >= proposal.queuingTime + COOLDOWN_PERIOD, "QUEUE_COOLDOWN_PERIOD_NOT_PASSED");
    require(
      _isPropositionPowerEnough(_votingConfigs[proposal.accessLevel], proposal.creator),
      "PROPOSITION_POWER_IS_TOO_LOW"
    );
    proposal.state = State.Executed;
    for (uint256 i = 0; i < proposal.payloads.length; i++) {
      PayloadsControllerUtils.Payload memory payload = proposal.payloads[i];
      _forwardPayloadForExecution(payload, proposal.votingActivationTime);
      emit PayloadSent(
        proposalId,
        payload.payloadId,
        payload.payloadsController,
        payload.chain,
        i,
        proposal.payloads.length
      );
    }
    emit ProposalExecuted(proposalId);
  }

  function cancelProposal(uint256 proposalId) external {
    Proposal storage proposal = _proposals[proposalId];
    State proposalState = _getProposalState(proposal);
    require(
      proposalState != State.Null && uint256(proposalState) < uint256(State.Executed),
      "PROPOSAL_NOT_IN_THE_CORRECT_STATE"
    );
    if (
      isVotingPortalApproved(proposal.votingPortal) &&
      proposal.creator != msg.sender &&
      _isPropositionPowerEnough(_votingConfigs[proposal.accessLevel], proposal.creator)
    ) {
      require(msg.sender == _guardian, "ONLY_BY_GUARDIAN");
    }
    proposal.state = State.Cancelled;
    proposal.cancelTimestamp = uint40(block.timestamp);
    emit ProposalCanceled(proposalId);
  }

  function getProposalState(uint256 proposalId) external view returns (State) {
    return _getProposalState(_proposals[proposalId]);
  }

  function getProposal(uint256 proposalId) external view returns (Proposal memory) {
    Proposal memory proposal = _proposals[proposalId];
    proposal.state = _getProposalState(_proposals[proposalId]);
    return proposal;
  }

  // A same-chain payload goes straight to its controller (mainnet: through the CrossChainController, even on
  // Ethereum), with the message PayloadsController.decodePayloadMessage reads.
  function _forwardPayloadForExecution(
    PayloadsControllerUtils.Payload memory payload,
    uint40 proposalVoteActivationTimestamp
  ) internal {
    require(payload.chain == block.chainid, "DEVNET_SAME_CHAIN_PAYLOADS_ONLY");
    IPayloadMessageReceiver(payload.payloadsController).receiveCrossChainMessage(
      address(this),
      block.chainid,
      abi.encode(payload.payloadId, payload.accessLevel, proposalVoteActivationTimestamp)
    );
  }

  function _isPropositionPowerEnough(VotingConfig memory votingConfig, address creator) internal view returns (bool) {
    uint256 power = IPropositionPower(_powerStrategy).getPowerCurrent(creator, 1);
    return power > votingConfig.minPropositionPower * PRECISION_DIVIDER;
  }

  function _getProposalState(Proposal storage proposal) internal view returns (State) {
    State state = proposal.state;
    if (state == State.Null || state >= State.Executed) {
      return state;
    }
    uint256 expirationTime = proposal.creationTime + PROPOSAL_EXPIRATION_TIME;
    if (
      block.timestamp > expirationTime ||
      (state == State.Created && block.timestamp + proposal.votingDuration > expirationTime)
    ) {
      return State.Expired;
    }
    return state;
  }

  function _setVotingConfigs(SetVotingConfigInput[] memory votingConfigs) internal {
    for (uint256 i = 0; i < votingConfigs.length; i++) {
      SetVotingConfigInput memory input = votingConfigs[i];
      require(input.accessLevel > PayloadsControllerUtils.AccessControl.Level_null, "INVALID_VOTING_CONFIG_ACCESS_LEVEL");
      require(
        input.coolDownBeforeVotingStart + input.votingDuration + COOLDOWN_PERIOD < PROPOSAL_EXPIRATION_TIME,
        "INVALID_VOTING_DURATION"
      );
      require(input.votingDuration >= MIN_VOTING_DURATION(), "VOTING_DURATION_TOO_SMALL");
      require(input.minPropositionPower <= ACHIEVABLE_VOTING_PARTICIPATION(), "INVALID_PROPOSITION_POWER");
      require(input.yesThreshold <= ACHIEVABLE_VOTING_PARTICIPATION(), "INVALID_YES_THRESHOLD");
      require(input.yesNoDifferential <= ACHIEVABLE_VOTING_PARTICIPATION(), "INVALID_YES_NO_DIFFERENTIAL");
      VotingConfig memory config = VotingConfig({
        coolDownBeforeVotingStart: input.coolDownBeforeVotingStart,
        votingDuration: input.votingDuration,
        yesThreshold: uint56(input.yesThreshold / PRECISION_DIVIDER),
        yesNoDifferential: uint56(input.yesNoDifferential / PRECISION_DIVIDER),
        minPropositionPower: uint56(input.minPropositionPower / PRECISION_DIVIDER)
      });
      _votingConfigs[input.accessLevel] = config;
      emit VotingConfigUpdated(
        input.accessLevel,
        config.votingDuration,
        config.coolDownBeforeVotingStart,
        config.yesThreshold,
        config.yesNoDifferential,
        config.minPropositionPower
      );
    }
  }
}

contract AavePayloadsController {
  enum PayloadState {
    None,
    Created,
    Queued,
    Executed,
    Cancelled,
    Expired
  }

  struct ExecutionAction {
    address target;
    bool withDelegateCall;
    PayloadsControllerUtils.AccessControl accessLevel;
    uint256 value;
    string signature;
    bytes callData;
  }

  struct Payload {
    address creator;
    PayloadsControllerUtils.AccessControl maximumAccessLevelRequired;
    PayloadState state;
    uint40 createdAt;
    uint40 queuedAt;
    uint40 executedAt;
    uint40 cancelledAt;
    uint40 expirationTime;
    uint40 delay;
    uint40 gracePeriod;
    ExecutionAction[] actions;
  }

  struct ExecutorConfig {
    address executor;
    uint40 delay;
  }

  struct UpdateExecutorInput {
    PayloadsControllerUtils.AccessControl accessLevel;
    ExecutorConfig executorConfig;
  }

  event PayloadCreated(
    uint40 indexed payloadId,
    address indexed creator,
    ExecutionAction[] actions,
    PayloadsControllerUtils.AccessControl indexed maximumAccessLevelRequired
  );
  event PayloadQueued(uint40 payloadId);
  event PayloadExecuted(uint40 payloadId);
  event PayloadCancelled(uint40 payloadId);
  event ExecutorSet(PayloadsControllerUtils.AccessControl indexed accessLevel, address indexed executor, uint40 delay);

  address public immutable CROSS_CHAIN_CONTROLLER; // the devnet: the governance itself (see the file's header)
  address public immutable MESSAGE_ORIGINATOR;
  uint256 public immutable ORIGIN_CHAIN_ID;

  address internal _owner;
  address internal _guardian;
  uint40 internal _payloadsCount;
  mapping(PayloadsControllerUtils.AccessControl => ExecutorConfig) internal _accessLevelToExecutorConfig;
  mapping(uint40 => Payload) internal _payloads;

  // OwnableWithGuardian (bgd-labs solidity-utils): the owner updates executors, the guardian cancels payloads.
  event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
  event GuardianUpdated(address oldGuardian, address newGuardian);

  constructor(address crossChainController, address messageOriginator, uint256 originChainId) {
    require(crossChainController != address(0), "INVALID_CROSS_CHAIN_CONTROLLER_ADDRESS");
    require(messageOriginator != address(0), "INVALID_MESSAGE_ORIGINATOR_ADDRESS");
    require(originChainId > 0, "INVALID_ORIGIN_CHAIN_ID");
    CROSS_CHAIN_CONTROLLER = crossChainController;
    MESSAGE_ORIGINATOR = messageOriginator;
    ORIGIN_CHAIN_ID = originChainId;
    _owner = msg.sender;
    _guardian = msg.sender;
    emit OwnershipTransferred(address(0), msg.sender);
    emit GuardianUpdated(address(0), msg.sender);
  }

  function owner() public view returns (address) {
    return _owner;
  }

  function guardian() public view returns (address) {
    return _guardian;
  }

  function transferOwnership(address newOwner) public {
    require(msg.sender == _owner, "Ownable: caller is not the owner");
    require(newOwner != address(0), "Ownable: new owner is the zero address");
    emit OwnershipTransferred(_owner, newOwner);
    _owner = newOwner;
  }

  function renounceOwnership() public {
    require(msg.sender == _owner, "Ownable: caller is not the owner");
    emit OwnershipTransferred(_owner, address(0));
    _owner = address(0);
  }

  function updateGuardian(address newGuardian) external {
    require(msg.sender == _owner || msg.sender == _guardian, "ONLY_BY_OWNER_OR_GUARDIAN");
    emit GuardianUpdated(_guardian, newGuardian);
    _guardian = newGuardian;
  }

  function EXPIRATION_DELAY() public pure returns (uint40) {
    return 35 days;
  }

  function GRACE_PERIOD() public pure returns (uint40) {
    return 7 days;
  }

  // Mainnet: 1 day (virtual in PayloadsControllerCore); the devnet's clock moves a second a block.
  function MIN_EXECUTION_DELAY() public pure returns (uint40) {
    return 1;
  }

  function MAX_EXECUTION_DELAY() public pure returns (uint40) {
    return 10 days;
  }

  function updateExecutors(UpdateExecutorInput[] calldata executors) external {
    require(msg.sender == _owner, "ONLY_BY_OWNER");
    for (uint256 i = 0; i < executors.length; i++) {
      UpdateExecutorInput memory input = executors[i];
      require(input.executorConfig.executor != address(0), "INVALID_EXECUTOR_ADDRESS");
      require(input.accessLevel > PayloadsControllerUtils.AccessControl.Level_null, "INVALID_EXECUTOR_ACCESS_LEVEL");
      require(
        input.executorConfig.delay >= MIN_EXECUTION_DELAY() && input.executorConfig.delay <= MAX_EXECUTION_DELAY(),
        "INVALID_EXECUTOR_DELAY"
      );
      PayloadsControllerUtils.AccessControl other = input.accessLevel == PayloadsControllerUtils.AccessControl.Level_1
        ? PayloadsControllerUtils.AccessControl.Level_2
        : PayloadsControllerUtils.AccessControl.Level_1;
      require(
        _accessLevelToExecutorConfig[other].executor != input.executorConfig.executor,
        "EXECUTOR_ALREADY_SET_IN_DIFFERENT_LEVEL"
      );
      _accessLevelToExecutorConfig[input.accessLevel] = input.executorConfig;
      emit ExecutorSet(input.accessLevel, input.executorConfig.executor, input.executorConfig.delay);
    }
  }

  function createPayload(ExecutionAction[] calldata actions) external returns (uint40) {
    require(actions.length != 0, "INVALID_EMPTY_TARGETS");
    uint40 payloadId = _payloadsCount++;
    uint40 creationTime = uint40(block.timestamp);
    Payload storage newPayload = _payloads[payloadId];
    newPayload.creator = msg.sender;
    newPayload.state = PayloadState.Created;
    newPayload.createdAt = creationTime;
    newPayload.expirationTime = creationTime + EXPIRATION_DELAY();
    newPayload.gracePeriod = GRACE_PERIOD();
    PayloadsControllerUtils.AccessControl maximumAccessLevelRequired;
    for (uint256 i = 0; i < actions.length; i++) {
      require(actions[i].target != address(0), "INVALID_ACTION_TARGET");
      require(actions[i].accessLevel > PayloadsControllerUtils.AccessControl.Level_null, "INVALID_ACTION_ACCESS_LEVEL");
      require(
        _accessLevelToExecutorConfig[actions[i].accessLevel].executor != address(0),
        "EXECUTOR_WAS_NOT_SPECIFIED_FOR_REQUESTED_ACCESS_LEVEL"
      );
      newPayload.actions.push(actions[i]);
      if (actions[i].accessLevel > maximumAccessLevelRequired) {
        maximumAccessLevelRequired = actions[i].accessLevel;
      }
    }
    newPayload.maximumAccessLevelRequired = maximumAccessLevelRequired;
    newPayload.delay = _accessLevelToExecutorConfig[maximumAccessLevelRequired].delay;
    emit PayloadCreated(payloadId, msg.sender, actions, maximumAccessLevelRequired);
    return payloadId;
  }

  function executePayload(uint40 payloadId) external payable {
    Payload storage payload = _payloads[payloadId];
    require(_getPayloadState(payload) == PayloadState.Queued, "PAYLOAD_NOT_IN_QUEUED_STATE");
    require(block.timestamp > payload.queuedAt + payload.delay, "TIMELOCK_NOT_FINISHED");
    payload.state = PayloadState.Executed;
    payload.executedAt = uint40(block.timestamp);
    for (uint256 i = 0; i < payload.actions.length; i++) {
      ExecutionAction storage action = payload.actions[i];
      AaveExecutor(payable(_accessLevelToExecutorConfig[action.accessLevel].executor)).executeTransaction{
        value: action.value
      }(action.target, action.value, action.signature, action.callData, action.withDelegateCall);
    }
    emit PayloadExecuted(payloadId);
  }

  function cancelPayload(uint40 payloadId) external {
    require(msg.sender == _guardian, "ONLY_BY_GUARDIAN");
    Payload storage payload = _payloads[payloadId];
    PayloadState state = _getPayloadState(payload);
    require(state < PayloadState.Executed && state >= PayloadState.Created, "PAYLOAD_NOT_IN_THE_CORRECT_STATE");
    payload.state = PayloadState.Cancelled;
    payload.cancelledAt = uint40(block.timestamp);
    emit PayloadCancelled(payloadId);
  }

  function getPayloadById(uint40 payloadId) external view returns (Payload memory) {
    Payload memory payload = _payloads[payloadId];
    payload.state = _getPayloadState(payload);
    return payload;
  }

  function getPayloadState(uint40 payloadId) external view returns (PayloadState) {
    return _getPayloadState(_payloads[payloadId]);
  }

  function getPayloadsCount() external view returns (uint40) {
    return _payloadsCount;
  }

  function getExecutorSettingsByAccessControl(
    PayloadsControllerUtils.AccessControl accessControl
  ) external view returns (ExecutorConfig memory) {
    return _accessLevelToExecutorConfig[accessControl];
  }

  // PayloadsController.receiveCrossChainMessage: only the bridge, carrying the governance's message from its chain.
  function receiveCrossChainMessage(address originSender, uint256 originChainId, bytes memory message) external {
    require(
      msg.sender == CROSS_CHAIN_CONTROLLER && originSender == MESSAGE_ORIGINATOR && originChainId == ORIGIN_CHAIN_ID,
      "WRONG_MESSAGE_ORIGIN"
    );
    (uint40 payloadId, PayloadsControllerUtils.AccessControl accessLevel, uint40 activation) = abi.decode(
      message,
      (uint40, PayloadsControllerUtils.AccessControl, uint40)
    );
    Payload storage payload = _payloads[payloadId];
    require(_getPayloadState(payload) == PayloadState.Created, "PAYLOAD_NOT_IN_CREATED_STATE");
    require(accessLevel >= payload.maximumAccessLevelRequired, "INVALID_PROPOSAL_ACCESS_LEVEL");
    require(activation > payload.createdAt, "PAYLOAD_NOT_CREATED_BEFORE_PROPOSAL");
    payload.state = PayloadState.Queued;
    payload.queuedAt = uint40(block.timestamp);
    emit PayloadQueued(payloadId);
  }

  function _getPayloadState(Payload memory payload) internal view returns (PayloadState) {
    PayloadState state = payload.state;
    if (state == PayloadState.None || state >= PayloadState.Executed) {
      return state;
    }
    if (
      (state == PayloadState.Created && block.timestamp >= payload.expirationTime) ||
      (state == PayloadState.Queued && block.timestamp >= payload.queuedAt + payload.delay + payload.gracePeriod)
    ) {
      return PayloadState.Expired;
    }
    return state;
  }

  receive() external payable {}
}

// payloads/Executor.sol: Ownable (OpenZeppelin) by the PayloadsController, which alone makes it call (or delegatecall)
// a target.
contract AaveExecutor {
  event ExecutedAction(
    address indexed target,
    uint256 value,
    string signature,
    bytes data,
    uint256 executionTime,
    bool withDelegatecall,
    bytes resultData
  );

  event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

  address internal _owner;

  constructor(address initialOwner) {
    _owner = initialOwner;
    emit OwnershipTransferred(address(0), initialOwner);
  }

  function owner() public view returns (address) {
    return _owner;
  }

  function transferOwnership(address newOwner) public {
    require(msg.sender == _owner, "Ownable: caller is not the owner");
    require(newOwner != address(0), "Ownable: new owner is the zero address");
    emit OwnershipTransferred(_owner, newOwner);
    _owner = newOwner;
  }

  function renounceOwnership() public {
    require(msg.sender == _owner, "Ownable: caller is not the owner");
    emit OwnershipTransferred(_owner, address(0));
    _owner = address(0);
  }

  function executeTransaction(
    address target,
    uint256 value,
    string memory signature,
    bytes memory data,
    bool withDelegatecall
  ) public payable returns (bytes memory) {
    require(msg.sender == _owner, "Ownable: caller is not the owner");
    require(target != address(0), "INVALID_EXECUTION_TARGET");
    bytes memory callData = bytes(signature).length == 0
      ? data
      : abi.encodePacked(bytes4(keccak256(bytes(signature))), data);
    bool success;
    bytes memory resultData;
    if (withDelegatecall) {
      (success, resultData) = target.delegatecall(callData);
    } else {
      (success, resultData) = target.call{value: value}(callData);
    }
    require(success, "FAILED_ACTION_EXECUTION");
    emit ExecutedAction(target, value, signature, data, block.timestamp, withDelegatecall, resultData);
    return resultData;
  }

  receive() external payable {}
}

// VotingPortal (Ethereum side): starts the vote on the voting machine and takes the result back to the governance.
// The devnet has no voting machine or bridge: the portal's owner delivers the result, as the CrossChainController
// does on mainnet, through the same receiveCrossChainMessage and message layout (proposalId, forVotes, againstVotes).
contract AaveVotingPortal {
  event VoteMessageReceived(
    address indexed originSender,
    uint256 indexed originChainId,
    bool indexed delivered,
    bytes message,
    bytes reason
  );

  address public immutable GOVERNANCE;
  address public immutable CROSS_CHAIN_CONTROLLER; // the devnet: the owner that delivers vote results
  address public immutable VOTING_MACHINE;
  uint256 public immutable VOTING_MACHINE_CHAIN_ID;

  constructor(address governance, address votingMachine, uint256 votingMachineChainId) {
    GOVERNANCE = governance;
    CROSS_CHAIN_CONTROLLER = msg.sender;
    VOTING_MACHINE = votingMachine;
    VOTING_MACHINE_CHAIN_ID = votingMachineChainId;
  }

  function forwardStartVotingMessage(uint256, bytes32, uint24) external {
    require(msg.sender == GOVERNANCE, "CALLER_NOT_GOVERNANCE");
  }

  function decodeMessage(bytes memory message) public pure returns (uint256, uint128, uint128) {
    return abi.decode(message, (uint256, uint128, uint128));
  }

  function receiveCrossChainMessage(address originSender, uint256 originChainId, bytes memory message) external {
    require(
      msg.sender == CROSS_CHAIN_CONTROLLER && originSender == VOTING_MACHINE && originChainId == VOTING_MACHINE_CHAIN_ID,
      "WRONG_MESSAGE_ORIGIN"
    );
    (uint256 proposalId, uint128 forVotes, uint128 againstVotes) = decodeMessage(message);
    IGovernanceQueue(GOVERNANCE).queueProposal(proposalId, forVotes, againstVotes);
    emit VoteMessageReceived(originSender, originChainId, true, message, "");
  }
}
